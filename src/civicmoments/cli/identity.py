"""Identity resolution by a person. The review queue is stored: the open `verification` cases
holding an event whose subject the registry does not know, each with the people it may be
(scored 70 to 95 at intake). A decision resolves the case, so it leaves the queue, and the case
keeps who decided, what and why. Two records already in the registry can also be merged, and a
merge reversed."""

from __future__ import annotations

from datetime import date

import click

from . import common
from .common import _out, main

QUEUE = "verification"
UNKNOWN = "unknown-subject"


@main.group()
def identity() -> None:
    """Decide possible matches: the review queue, merge (the same person) or keep apart."""


def _queue(app) -> list:
    """Open cases holding an event for a subject nobody could identify, oldest first."""
    from ..domain.cases import CASE_ACTIVE

    found, cursor = [], None
    while True:
        page, cursor = app.cases.page(QUEUE, [s.value for s in CASE_ACTIVE], cursor=cursor, limit=200)
        found += [c for c in page if c.data.get("rule") == UNKNOWN]
        if cursor is None:
            return found


def _held(app, case_id: str):
    """The open review item ``case_id``, or None when it names no case (then it is a record or a merge id)."""
    from ..domain.cases import CaseNotFoundError, CaseStatus

    try:
        case = app.cases.get(case_id)
    except CaseNotFoundError:
        return None
    if case.queue != QUEUE or case.data.get("rule") != UNKNOWN:
        raise click.ClickException(f"case {case_id} is not an identity check (it is in queue {case.queue!r})")
    if case.status is CaseStatus.RESOLVED:
        raise click.ClickException(f"case {case_id} was decided already: {case.outcome} ({case.outcome_reason})")
    return case


def _officer(app, name: str | None):
    return app.officers.get(name) if name else None


@identity.command("review")
@click.option("--given-name", default=None, help="score this record instead of listing the queue")
@click.option("--family-name", default=None)
@click.option("--date-of-birth", default=None, help="YYYY-MM-DD")
@click.option("--postcode", default=None)
@click.option("--json", "as_json", is_flag=True)
def identity_review(given_name, family_name, date_of_birth, postcode, as_json: bool) -> None:
    """The review queue: each event held for a subject nobody could identify (its case id, the subject,
    what was reported and by whom) and the people it may be, with scores out of 100 and why.
    Decide each with `merge CASE PERSON` or `keep-apart CASE`.

    With a record (--given-name, ...), scores it against the registry instead, storing nothing:
    96 and over links by itself, 70 to 95 waits for a person."""
    if date_of_birth:
        try:
            date.fromisoformat(date_of_birth)
        except ValueError:
            raise click.BadParameter(f"{date_of_birth!r} is not a date like 1981-03-14 (YYYY-MM-DD)",
                                     param_hint="--date-of-birth") from None
    app = common._app()
    record = {k: v for k, v in {"given_name": given_name, "family_name": family_name,
                                "date_of_birth": date_of_birth, "postcode": postcode}.items() if v}
    if record:
        found = app.resolver.resolve(record)
        rows = [{"person": c.person, "score": c.score, "why": c.why} for c in found.candidates]
        if as_json:
            _out({"method": found.method, "person": found.person, "candidates": rows})
            return
        click.echo({"match": f"links to {found.person}", "review": "for a person to decide",
                    "new": "nobody like this: a new person", "identifier": f"links to {found.person}"}[found.method])
        for r in rows:
            click.echo(f"{r['person']}  {r['score']:>5}  " + ", ".join(f"{k} {v}" for k, v in r["why"].items()))
        return
    items = [{"case": c.id, "subject": c.person, "event": c.data.get("event", {}),
              "organisation": c.data.get("organisation"), "opened_at": c.summary()["opened_at"],
              "candidates": c.data.get("candidates", [])} for c in _queue(app)]
    if as_json:
        _out(items)
        return
    if not items:
        click.echo("nothing to review")
        return
    names = {o["id"]: o["name"] for o in app.store.organisations()}
    for it in items:
        event = it["event"]
        click.echo(f"{it['case']}  subject {it['subject']!r}: {event.get('type', '?')} {event.get('id', '')} "
                   f"from {names.get(it['organisation'], it['organisation'])}, held {it['opened_at'][:10]}")
        for c in it["candidates"]:
            click.echo(f"    may be {c['person']}  {c['score']:>5}  " + ", ".join(f"{k} {v}" for k, v in c["why"].items()))
        if not it["candidates"]:
            click.echo("    nobody scores 70 or more: find who it is, or keep it apart")


@identity.command("merge")
@click.argument("first")
@click.argument("second")
@click.option("--reason", required=True, help="why they are the same person (kept with the decision)")
@click.option("--as", "as_officer", default=None, help="the officer deciding (kept on the case)")
def identity_merge(first: str, second: str, reason: str, as_officer: str | None) -> None:
    """The same person. FIRST a case from the review queue and SECOND the person its subject is: the
    case is resolved `verified` with the person and reason, and leaves the queue (the sender then sends
    the event again with the person's id). Or FIRST and SECOND two records in the registry: SECOND is
    folded into FIRST; prints the merge id, which keep-apart can reverse."""
    from ..engine.identity import MATCH_ATTRIBUTES, score

    if not reason.strip():
        raise click.UsageError("give --reason: why they are the same person (kept with the decision)")
    app = common._app()
    case = _held(app, first)
    if case is not None:
        app.registry.require(second)
        done = app.cases.resolve(case.id, _officer(app, as_officer), "verified",
                                 f"the subject {case.person!r} is person {second}: {reason}", case.version)
        click.echo(f"case {done.id} decided: {case.person!r} is {second}; it has left the review queue")
        return
    if first == second:
        raise click.UsageError("a person cannot be merged into themselves")
    app.registry.require(first)
    app.registry.require(second)
    a, b = app.registry.profiles([first, second]).values()
    total, _ = score({k: str(a[k].value) for k in MATCH_ATTRIBUTES if k in a},
                     {k: str(b[k].value) for k in MATCH_ATTRIBUTES if k in b})
    click.echo(app.resolver.merge(first, second, total, reason))


@identity.command("keep-apart")
@click.argument("item")
@click.option("--reason", default=None, help="why (required for a case from the review queue)")
@click.option("--as", "as_officer", default=None, help="the officer deciding (kept on the case)")
def identity_keep_apart(item: str, reason: str | None, as_officer: str | None) -> None:
    """Not the same person. ITEM a case from the review queue: resolved `rejected` (none of the people it
    may be), with the reason, and it leaves the queue. Or ITEM a merge id (from merge or an automatic
    link): the merge is reversed and the two records are two people again."""
    if reason is not None and not reason.strip():
        raise click.UsageError("give --reason: a few words on why they are not the same person")
    app = common._app()
    case = _held(app, item)
    if case is not None:
        if not reason:
            raise click.UsageError("give --reason: why the subject is none of the people it may be")
        done = app.cases.resolve(case.id, _officer(app, as_officer), "rejected",
                                 f"the subject {case.person!r} is kept apart: {reason}", case.version)
        click.echo(f"case {done.id} decided: {case.person!r} kept apart; it has left the review queue")
        return
    if not app.resolver.unmerge(item):
        raise click.ClickException(f"No review case or merge {item!r} to act on (or it was decided already)")
    click.echo(f"kept apart: merge {item} reversed")
