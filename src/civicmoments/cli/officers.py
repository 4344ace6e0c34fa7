"""Officers: staff identities, their roles and their API tokens."""

from __future__ import annotations

import click

from . import common
from .common import _out, main
from .orgs import _lifetime


@main.group()
def officers() -> None:
    """Staff officers: who they are, their organisation and roles."""


@officers.command("add")
@click.argument("name")
@click.option("--subject", required=True, help="their OpenID Connect subject at the staff identity provider")
@click.option("--organisation", required=True, help="the organisation they work for, e.g. employment-department")
@click.option("--role", "roles", multiple=True, required=True,
              help="a role from the pack's staff/roles.yaml (work-coach, decision-maker …); repeatable")
@click.option("--json", "as_json", is_flag=True)
def officers_add(name: str, subject: str, organisation: str, roles: tuple[str, ...], as_json: bool) -> None:
    """Register an officer."""
    officer = common._app().officers.add(name, subject, organisation, list(roles))
    if as_json:
        _out(officer.as_dict())
    else:
        click.echo(f"added {officer.name} ({officer.id}), {', '.join(officer.roles)} at {officer.organisation}")


@officers.command("list")
@click.option("--json", "as_json", is_flag=True)
def officers_list(as_json: bool) -> None:
    """List officers."""
    rows = common._app().officers.list()
    if as_json:
        _out([o.as_dict() for o in rows])
        return
    for o in rows:
        click.echo(f"{o.name:<24} {o.organisation:<24} {','.join(o.roles):<30} {o.id}")


@officers.command("token")
@click.argument("name")
@click.option("--expires", default=None, help="token lifetime as an ISO 8601 duration, e.g. P30D")
def officers_token(name: str, expires: str | None) -> None:
    """Issue a bearer token for an officer to use the /v1/cases API (shown only once)."""
    click.echo(common._app().officers.token(name, _lifetime(expires)))
