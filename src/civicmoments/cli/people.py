"""People in the registry."""

from __future__ import annotations

import click

from . import common
from .common import _out, main


@main.group()
def people() -> None:
    """People in the registry."""


@people.command("add")
@click.option("--id", "identifiers", multiple=True, help="scheme=value, e.g. ni_number=AB123456C; repeatable")
def people_add(identifiers: tuple[str, ...]) -> None:
    """Register a person and print their id."""
    ids = dict(i.split("=", 1) for i in identifiers if "=" in i)
    if len(ids) != len(identifiers):
        raise click.BadParameter("write identifiers as scheme=value", param_hint="--id")
    click.echo(common._app().registry.add_person(ids))


@people.command("show")
@click.argument("person")
@click.option("--json", "as_json", is_flag=True)
def people_show(person: str, as_json: bool) -> None:
    """A person's profile: the best fact per attribute, with source and tier."""
    app = common._app()
    prof = app.registry.profile(person)
    if as_json:
        _out({a: {"value": f.value, "tier": f.tier.value, "source": f.source} for a, f in prof.items()})
        return
    for a, f in sorted(prof.items()):
        click.echo(f"{a:<28} {str(f.value):<30} {f.tier.value:<7} {f.basis.value:<9} {f.source}")


@people.command("export")
@click.argument("person")
def people_export(person: str) -> None:
    """Everything held about a person, as JSON (right of access)."""
    from ..api.people import person_export

    _out(person_export(common._app(), person))


@people.group("facts")
def facts() -> None:
    """Facts about a person, recorded with their source."""


@facts.command("add")
@click.argument("person")
@click.argument("values", nargs=-1, required=True)
@click.option("--org", "org_name", required=True,
              help="the organisation the facts come from (its scopes must allow their domain)")
def facts_add(person: str, values: tuple[str, ...], org_name: str) -> None:
    """Record facts as ATTRIBUTE=VALUE (e.g. date_of_birth=1981-03-14 postcode="LS1 4AP"), from an organisation.

    Numbers are read as numbers (money in pence), true/false as yes or no, anything else as text.
    """
    from ..domain.organisations import Organisation

    pairs = [v.split("=", 1) for v in values]
    if any(len(p) != 2 or not p[0] for p in pairs):
        raise click.BadParameter("write each fact as ATTRIBUTE=VALUE", param_hint="VALUES")
    app = common._app()
    row = app.store.organisation(org_name)
    if row is None:
        raise click.ClickException(f"No such organisation {org_name!r}: add it with civic orgs add")
    org = Organisation(row["id"], row["name"], tuple(row["sources"]), tuple(row["scopes"]))
    recorded = app.registry.record(org, person, [{"attribute": a, "value": _value(v)} for a, v in pairs])
    click.echo(f"recorded {recorded} fact(s) for {person} from {row['name']}")


def _value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lstrip("-").isdigit():
        return int(text)
    return text
