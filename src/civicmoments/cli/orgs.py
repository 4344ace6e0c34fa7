"""Organisations and their credentials."""

from __future__ import annotations

from pathlib import Path

import click

from ..domain.clock import InvalidDurationError, parse_duration
from . import common
from .common import _out, main


@main.group()
def orgs() -> None:
    """Organisations and their credentials."""


def _lifetime(expires: str | None):
    try:
        return parse_duration(expires) if expires else None
    except InvalidDurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from None


@orgs.command("add")
@click.argument("name")
@click.option("--source", "sources", multiple=True, required=True,
              help="a CloudEvents source it owns (a trailing * matches a prefix); repeatable")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="an event type it may send (glob), or a permission such as journeys:read; repeatable")
@click.option("--expires", default=None, help="token lifetime as an ISO 8601 duration, e.g. P90D")
@click.option("--json", "as_json", is_flag=True)
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the token to this file (readable by you only) instead of printing it")
def orgs_add(name: str, sources: tuple[str, ...], scopes: tuple[str, ...], expires: str | None,
             as_json: bool, token_file: Path | None) -> None:
    """Register an organisation and print its bearer token (shown only once)."""
    org, token = common._app().organisations.add(name, list(sources), list(scopes), _lifetime(expires))
    if token_file is not None:
        token_file.touch(mode=0o600, exist_ok=True)
        token_file.chmod(0o600)
        token_file.write_text(token + "\n")
        click.echo(f"added {org.name} ({org.id}); its token is in {token_file} (keep it secret)")
        return
    if as_json:
        _out({"id": org.id, "name": org.name, "token": token})
    else:
        click.echo(f"added {org.name} ({org.id})\ntoken (keep it secret; it is not shown again):\n{token}")


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True)
def orgs_list(as_json: bool) -> None:
    """List organisations."""
    rows = common._app().organisations.list()
    if as_json:
        _out(rows)
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        click.echo(f"{r['name']:<30} {state:<8} sources={','.join(r['sources'])} scopes={','.join(r['scopes'])}")


@orgs.command("revoke")
@click.argument("name")
def orgs_revoke(name: str) -> None:
    """Revoke an organisation and every token it holds."""
    common._app().organisations.revoke(name)
    click.echo(f"revoked {name}: its tokens no longer work")


@orgs.command("token")
@click.argument("name")
@click.option("--expires", default=None, help="token lifetime, e.g. P90D")
def orgs_token(name: str, expires: str | None) -> None:
    """Issue another token for an organisation (for rotation)."""
    click.echo(common._app().organisations.new_token(name, _lifetime(expires)))
