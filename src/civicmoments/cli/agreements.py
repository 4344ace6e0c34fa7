"""Data-sharing agreements."""

from __future__ import annotations

import click

from . import common
from .common import main


@main.group()
def agreements() -> None:
    """Data-sharing agreements."""


@agreements.command("put")
@click.argument("agreement_id")
@click.option("--recipient", required=True, help="the receiving organisation's name")
@click.option("--purpose", required=True)
@click.option("--attribute", "attributes", multiple=True, help="an attribute it may receive; repeatable")
@click.option("--check", "checks", multiple=True, help="a yes/no check it may ask; repeatable")
@click.option("--event", "events", multiple=True,
              help="an event type (or pattern, such as uk.gov.gro.*) it may subscribe to; repeatable")
@click.option("--mode", type=click.Choice(["identified", "pseudonymised"]), default="pseudonymised")
@click.option("--retention-days", type=int, default=90)
def agreements_put(agreement_id: str, recipient: str, purpose: str, attributes: tuple[str, ...],
                   checks: tuple[str, ...], events: tuple[str, ...], mode: str, retention_days: int) -> None:
    """Create an agreement, or its next version."""
    a = common._app().agreements.put(agreement_id, recipient, purpose, list(attributes), mode, retention_days,
                                     list(checks), list(events))
    click.echo(f"agreement {a.id} v{a.version}: {purpose}, {len(a.attributes)} attributes, {a.mode.value}")


@agreements.command("revoke")
@click.argument("agreement_id")
def agreements_revoke(agreement_id: str) -> None:
    """Revoke an agreement: nothing more is shared under it."""
    common._app().agreements.revoke(agreement_id)
    click.echo(f"revoked {agreement_id}")
