"""Retention: removing what is past its period, and people's requests to erase."""

from __future__ import annotations

from datetime import date

import click

from . import common
from .common import main


@main.group()
def retention() -> None:
    """Retention periods: the nightly job, by hand; erasure requests."""


@retention.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="remove what is past its period at the start of this day (default today)")
@click.option("--json", "as_json", is_flag=True)
def retention_run(day, as_json: bool) -> None:
    """Delete superseded facts, remove old message text and minimise old shares; say what was done."""
    report = common._app().retention.run(day.date() if day else None)
    if as_json:
        common._out({"date": report.day, "facts": report.facts, "messages": report.messages, "shares": report.shares,
                     "by_purpose": report.by_purpose})
        return
    for line in report.lines():
        click.echo(line)


@retention.command("request-erasure")
@click.argument("person")
@click.option("--details", required=True, help="what the person asked for, in their words")
def retention_request(person: str, details: str) -> None:
    """Record a person's request to erase what is not needed by law (a case decides it)."""
    app = common._app()
    app.registry.require(person)
    row = app.retention.request_erasure(person, details)
    click.echo(f"erasure request {row['id']} recorded for {person}; announced as civic.erasure.requested")


def nightly(app, day: date) -> None:
    """What `civic serve` runs once a day: retention, and ending expired sessions."""
    app.retention.run(day)
    app.sessions.purge(app.clock.now())
