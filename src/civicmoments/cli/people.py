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
