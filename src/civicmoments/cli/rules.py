"""Rules, services and the digital lifetime: explain and sweep."""

from __future__ import annotations

import sys

import click

from . import common
from .common import _out, main


def _day(value: str | None):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None


@main.command()
@click.argument("person")
@click.argument("service")
@click.option("--on", "on", default=None, help="the day to decide for (default: today)")
@click.option("--json", "as_json", is_flag=True)
def explain(person: str, service: str, on: str | None, as_json: bool) -> None:
    """Decide a service for a person and explain the decision, with the law behind it."""
    app = common._app()
    decision = app.services.explain(person, service, _day(on) or app.clock.now().date())
    if as_json:
        _out(decision.as_dict())
        return
    click.echo(f"{service} for {person} on {decision.on}: {decision.status}"
               + (" (adverse: a person must review it before it is final)" if decision.adverse else ""))
    for k, v in decision.outputs.items():
        click.echo(f"  {k} = {v}")
    for i in decision.inputs:
        click.echo(f"  input {i['attribute']} = {i['value']} ({i['tier']}, from {i['source']})")
    for a in decision.ask:
        click.echo(f"  ask for {a['attribute']}: {a['why']}")
    click.echo(decision.explanation)


def run_sweep(app, until, since=None, show_progress: bool = True, parts: int | None = None) -> dict:
    """The sweep for ``until``: whole, or split in ``parts`` (default ``CIVIC_SWEEP_PARTITIONS``) of
    which this process takes as many as are left (the totals are then this process's own)."""
    from ..engine.sweep import Sweeper

    sweeper = Sweeper(app.rules, app.services.catalogue, app.registry.store, app.store)
    parts = parts or app.settings.sweep_partitions
    if parts > 1:
        import os
        import socket

        from ..adapters.store.partitions import PartitionLeases

        leases = PartitionLeases(app.store.engine, app.store.reader)
        return sweeper.run_parts(leases, f"sweep:{until}", parts, f"{socket.gethostname()}:{os.getpid()}",
                                 app.clock, app.settings.sweep_lease_seconds, until, since)
    total = app.registry.store.count_people()
    with click.progressbar(length=max(total, 1), label="sweeping", file=sys.stderr,
                           hidden=not show_progress) as bar:
        done = [0]

        def progress(n: int, _total: int) -> None:
            bar.update(n - done[0])
            done[0] = n

        return sweeper.run(until, since, progress=progress)


@main.command()
@click.option("--date", "on", default=None, help="sweep up to this day (default: today)")
@click.option("--since", default=None, help="count milestones after this day (default: the day before)")
@click.option("--parts", type=click.IntRange(1, 4096), default=None,
              help="split the sweep in this many parts and take those left (several machines at once); "
                   "default CIVIC_SWEEP_PARTITIONS")
@click.option("--json", "as_json", is_flag=True)
def sweep(on: str | None, since: str | None, parts: int | None, as_json: bool) -> None:
    """Find milestones crossed and eligibility changed, for everyone, and send them as events."""
    from openfisca_core.errors import ParameterNotFoundError

    app = common._app()
    until, after = _day(on) or app.clock.now().date(), _day(since)
    if after is not None and after >= until:
        raise click.UsageError(f"--since {after} must be before the day swept, {until}")
    if until > (today := app.clock.now().date()):  # a milestone is told on its day, never before
        raise click.UsageError(f"--date {until} is after today, {today}: a day is swept once it has come")
    try:
        result = run_sweep(app, until, after, show_progress=not as_json, parts=parts)
    except ParameterNotFoundError as exc:
        raise click.ClickException(f"the rules have no figures for {until}: {exc}") from None
    if as_json:
        _out(result)
    else:
        done = f" in {result['parts']} part(s) taken here" if "parts" in result else ""
        click.echo(f"{result['people']} people{done}: {result['milestones']} milestone event(s), "
                   f"{result['eligibility']} eligibility change(s)")


@main.group("rules")
def rules_group() -> None:
    """The pack's rules: what needs attention."""


@rules_group.command("check")
@click.option("--within", default=90, show_default=True, help="days ahead to look")
@click.option("--json", "as_json", is_flag=True)
def check(within: int, as_json: bool) -> None:
    """List parameters whose published figures end within the next days (uprating due)."""
    app = common._app()
    today = app.clock.now().date()
    due = app.rules.due_for_uprating(today, within)
    if as_json:
        _out({"on": today.isoformat(), "within_days": within, "due": due})
        return
    if not due:
        click.echo(f"No published figures end within {within} days of {today}.")
        return
    click.echo(f"Published figures ending within {within} days of {today}:")
    for d in due:
        when = (f"ended {-d['days_left']} day(s) ago" if d["days_left"] < 0
                else f"{d['days_left']} day(s) left")
        click.echo(f"  {d['parameter']}: {d['description']}; published until {d['published_until']} ({when})")
