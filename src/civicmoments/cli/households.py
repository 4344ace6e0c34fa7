"""Households: who lives with whom, for decisions that depend on it (Child Benefit, Universal Credit)."""

from __future__ import annotations

import click

from . import common
from .common import _out, main


@main.group()
def households() -> None:
    """Households in the registry."""


@households.command("join")
@click.argument("person")
@click.option("--household", default=None, help="the household to join (default: a new one)")
@click.option("--role", default="adult", show_default=True, help="the person's role: adult, child, ...")
def households_join(person: str, household: str | None, role: str) -> None:
    """Add PERSON to a household and print its id (a new household unless --household names one)."""
    click.echo(common._app().registry.join_household(household, person, role))


@households.command("show")
@click.argument("household")
@click.option("--json", "as_json", is_flag=True)
def households_show(household: str, as_json: bool) -> None:
    """The members of a household, with their roles."""
    members = common._app().registry.household(household)
    if not members:
        raise click.ClickException(f"No such household {household!r}")
    if as_json:
        _out(members)
        return
    for m in members:
        click.echo(f"{m.get('person_id', m.get('person', ''))}  {m.get('role', '')}")
