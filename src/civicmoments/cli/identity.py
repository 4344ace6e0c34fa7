"""Identity resolution by a person: the matches scored between 70 and 95 are left for someone to decide."""

from __future__ import annotations

import click

from . import common
from .common import _out, main


@main.group()
def identity() -> None:
    """Decide possible matches: review candidates, merge two records, or keep them apart."""


@identity.command("review")
@click.option("--given-name", default=None)
@click.option("--family-name", default=None)
@click.option("--date-of-birth", default=None, help="YYYY-MM-DD")
@click.option("--postcode", default=None)
@click.option("--json", "as_json", is_flag=True)
def identity_review(given_name, family_name, date_of_birth, postcode, as_json: bool) -> None:
    """The people a record could be, with scores out of 100 and why: 96 and over links by itself,
    70 to 95 waits for a person (merge or keep-apart)."""
    record = {k: v for k, v in {"given_name": given_name, "family_name": family_name,
                                "date_of_birth": date_of_birth, "postcode": postcode}.items() if v}
    if not record:
        raise click.UsageError("give at least one of --given-name, --family-name, --date-of-birth, --postcode")
    found = common._app().resolver.resolve(record)
    rows = [{"person": c.person, "score": c.score, "why": c.why} for c in found.candidates]
    if as_json:
        _out({"method": found.method, "person": found.person, "candidates": rows})
        return
    click.echo({"match": f"links to {found.person}", "review": "for a person to decide",
                "new": "nobody like this: a new person", "identifier": f"links to {found.person}"}[found.method])
    for r in rows:
        click.echo(f"{r['person']}  {r['score']:>5}  " + ", ".join(f"{k} {v}" for k, v in r["why"].items()))


@identity.command("merge")
@click.argument("survivor")
@click.argument("merged")
@click.option("--reason", required=True, help="why they are the same person (kept with the merge)")
def identity_merge(survivor: str, merged: str, reason: str) -> None:
    """Fold MERGED into SURVIVOR (they are one person); prints the merge id, which keep-apart can reverse."""
    from ..engine.identity import MATCH_ATTRIBUTES, score

    app = common._app()
    a, b = app.registry.profiles([survivor, merged]).values() if survivor != merged else ({}, {})
    if survivor == merged:
        raise click.UsageError("a person cannot be merged into themselves")
    total, _ = score({k: str(a[k].value) for k in MATCH_ATTRIBUTES if k in a},
                     {k: str(b[k].value) for k in MATCH_ATTRIBUTES if k in b})
    click.echo(app.resolver.merge(survivor, merged, total, reason))


@identity.command("keep-apart")
@click.argument("merge_id")
def identity_keep_apart(merge_id: str) -> None:
    """Reverse a merge (MERGE_ID, from merge or an automatic link): the two records are two people again."""
    if not common._app().resolver.unmerge(merge_id):
        raise click.ClickException(f"No merge {merge_id!r} to reverse (or it was reversed already)")
    click.echo(f"kept apart: merge {merge_id} reversed")
