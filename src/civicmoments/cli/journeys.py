"""Journeys: list, show and cancel."""

from __future__ import annotations

from typing import Any

import click

from ..domain.clock import iso
from . import common
from .common import _out, main


@main.group()
def journeys() -> None:
    """Journeys: runs of moments for people."""


def print_journey(found: dict[str, Any]) -> None:
    j = found["journey"]
    click.echo(f"journey {j.id}  moment={j.moment}  person={j.person}  status={j.status.value}")
    for t in found["timeline"]:
        detail = ", ".join(f"{k}={v}" for k, v in t["detail"].items())
        step = f"[{t['step']}] " if t["step"] else ""
        click.echo(f"  {iso(t['at'])}  {t['kind']:<22} {step}{detail}")


@journeys.command("show")
@click.argument("journey_id")
@click.option("--json", "as_json", is_flag=True)
def journeys_show(journey_id: str, as_json: bool) -> None:
    """Show a journey's timeline."""
    from ..api.journeys import journey_view
    from ..engine.errors import NotFoundError

    found = common._app().store.journey(journey_id)
    if found is None:
        raise NotFoundError(f"no journey {journey_id!r}")
    if as_json:
        _out(journey_view(found))
    else:
        print_journey(found)


@journeys.command("list")
@click.option("--person", default=None)
@click.option("--json", "as_json", is_flag=True)
def journeys_list(person: str | None, as_json: bool) -> None:
    """List journeys."""
    rows = common._app().store.journeys_for(person)
    if as_json:
        _out([{"id": j.id, "moment": j.moment, "person": j.person, "status": j.status.value} for j in rows])
        return
    for j in rows:
        click.echo(f"{j.id}  {j.moment:<20} {j.person:<20} {j.status.value}")


@journeys.command("cancel")
@click.argument("journey_id")
@click.option("--reason", required=True)
def journeys_cancel(journey_id: str, reason: str) -> None:
    """Cancel a journey: its pending steps and effects are cancelled too."""
    from ..engine.errors import NotFoundError

    app = common._app()
    if not app.store.request_cancel(journey_id, reason, app.clock.now()):
        raise NotFoundError(f"no journey {journey_id!r}")
    click.echo(f"cancellation of {journey_id} queued")
