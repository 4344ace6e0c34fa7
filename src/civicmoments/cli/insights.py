"""Insights: a moment's measures (show), two versions side by side (compare), CSV (export), and
the projection they are read from brought up to date (refresh)."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from ..domain.insights import plain, shown
from . import common
from .common import _out, main


def _when(value: str | None) -> datetime | None:
    """A day (midnight UTC) or a time; one with an offset is that instant, one without is UTC."""
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value)
        return found.replace(tzinfo=timezone.utc) if found.tzinfo is None else found.astimezone(timezone.utc)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date such as 2026-11-01") from None


def _insights():
    from ..engine.insights import UnknownGroupError, UnknownMomentError, UnknownVersionError

    return common._app().insights, (UnknownMomentError, UnknownVersionError, UnknownGroupError)


@main.group()
def insights() -> None:
    """Impact and insights: what each moment achieves, for whom, at what cost."""


@insights.command("show")
@click.argument("moment")
@click.option("--version", "version", default=None, help="only journeys run at this version of the moment")
@click.option("--from", "start", default=None, help="journeys started on or after (YYYY-MM-DD)")
@click.option("--to", "end", default=None, help="journeys started before (YYYY-MM-DD)")
@click.option("--group", default=None, help="split by online, age_band, region or language")
@click.option("--json", "as_json", is_flag=True)
def insights_show(moment: str, version, start, end, group, as_json: bool) -> None:
    """Every measure of a moment; cells of fewer than 10 people read "fewer than 10"."""
    app, errors = _insights()
    try:
        report = app.report(moment, version, _when(start), _when(end), group)
    except errors as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        _out(plain(report))
        return
    versions = ", ".join(f"{v} ({n})" for v, n in sorted(report["versions"].items()))
    click.echo(f"{report['title']} ({moment}), version {version or 'all'}; versions run: {versions or 'none'}")
    if report["empty"]:
        click.echo(report["reason"])
        return
    click.echo(f"journeys: {shown(report['journeys'])}")
    for area, values in report["measures"].items():
        click.echo(f"{area}:")
        for name, value in values.items():
            click.echo(f"  {name:<28} {shown(value)}")
    for value_name, cell in (report["groups"] or {}).items():
        click.echo(f"{group} = {value_name}: {shown(cell['people'])} people"
                   + (f" ({cell['reason']})" if cell.get("reason") else ""))
        for flag in cell["flags"]:
            click.echo(f"  flagged: {flag}")
    click.echo(f"computed with {report['engine']}")


@insights.command("refresh")
def insights_refresh() -> None:
    """Bring the insights projection up to date now, with progress (after an upgrade it is built
    from every journey; `civic serve` and `civic worker` keep it up to date after that)."""
    app = common._app()
    if app.insights.facts is None:
        raise click.ClickException(f"the insights engine is {app.settings.insights_engine!r}, which keeps no "
                                   "projection (set CIVIC_INSIGHTS_ENGINE=projection)")

    def progress(done: int, pending: int) -> None:
        click.echo(f"  {done:,} of {pending:,} journeys", err=True)

    done = app.insights.refresh(progress=progress)
    click.echo(f"insights projection up to date: {done:,} journeys recomputed")


@insights.command("compare")
@click.argument("moment")
@click.option("--from", "before", required=True, help="the version before the change")
@click.option("--to", "after", required=True, help="the version after it")
@click.option("--json", "as_json", is_flag=True)
def insights_compare(moment: str, before: str, after: str, as_json: bool) -> None:
    """Two versions of a moment side by side on every measure, with the journeys of each."""
    app, errors = _insights()
    try:
        found = app.compare(moment, before, after)
    except errors as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        _out(plain(found))
        return
    j = found["journeys"]
    click.echo(f"{moment}: {before} against {after}")
    click.echo(f"  {'journeys':<28} {shown(j['from']):>12} {shown(j['to']):>12}")
    for area, values in found["measures"].items():
        click.echo(f"{area}:")
        for name, v in values.items():
            change = "" if v["change"] is None else f"{v['change']:+g}"
            click.echo(f"  {name:<28} {shown(v['from']):>12} {shown(v['to']):>12} {change:>10}")


@insights.command("export")
@click.argument("moment")
@click.option("--version", "version", default=None)
@click.option("--from", "start", default=None)
@click.option("--to", "end", default=None)
@click.option("--group", default=None)
def insights_export(moment: str, version, start, end, group) -> None:
    """The measures as CSV on standard output (suppressed cells read "fewer than 10")."""
    from ..engine.insights import report_csv

    app, errors = _insights()
    try:
        report = app.report(moment, version, _when(start), _when(end), group)
    except errors as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report_csv(report), nl=False)
