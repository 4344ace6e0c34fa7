"""Payments: the daily payment run by hand, and the awards that run past the published figures."""

from __future__ import annotations

import os
from datetime import date

import click

from . import common
from .common import main

FAULT = "CIVIC_PAYMENTS_FAULT_AFTER"  # tests: SIGKILL the run once this many payments are committed


@main.group()
def payments() -> None:
    """Awards and payments: the payment run and its checks."""


@payments.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="pay what is due on or before this day (default today)")
@click.option("--json", "as_json", is_flag=True)
def payments_run(day, as_json: bool) -> None:
    """Collect the payments due into pain.001 files in the payments folder (CIVIC_PAYMENTS_DIR)."""
    from ..engine.payments import AlreadyRunError

    app = common._app()
    on = day.date() if day else app.clock.now().date()
    fault = os.environ.get(FAULT)
    try:
        run = app.payments.run(on, fault_after=int(fault) if fault else None)
    except AlreadyRunError as exc:
        raise click.ClickException(str(exc)) from None
    files = app.payments.store.files(on)
    if as_json:
        common._out({"date": on, "payments": run["payments"], "total": run["total"],
                     "files": [f["ref"] for f in files], "folder": str(app.payments.folder)})
        return
    click.echo(f"payment run for {on}: {run['payments']} payments, £{run['total'] / 100:,.2f}, "
               f"in {len(files)} file(s) in {app.payments.folder}")


@payments.command("check")
@click.option("--json", "as_json", is_flag=True)
def payments_check(as_json: bool) -> None:
    """List awards that run past the published figures (or the known bank holidays)."""
    found = common._app().payments.check()
    if as_json:
        common._out(found)
        return
    if not found:
        click.echo("every award is scheduled to its end")
    for a in found:
        why = "rates not yet published" if a["stops"] == "rates" else "bank holidays not yet known"
        click.echo(f"{a['award']} {a['service']} for {a['person']}: scheduled to {a['scheduled_to']}, "
                   f"ends {a['end'] or 'no end'}; {why}")


def daily(app, day: date, lease_seconds: float = 3600) -> bool:
    """What `civic serve` runs once a day: the payment run for today, by one process only.

    Several servers sharing a database each call this; the run is leased (``payments:<day>``, one
    part, in ``partition_leases``) so one of them pays and the others find it taken. A holder that
    dies mid-run leaves its lease to run out after ``lease_seconds``; the next taker finishes the
    run, which resumes without paying anything twice. Returns True if this process ran it."""
    import os
    import socket

    from ..adapters.store.partitions import PartitionLeases
    from ..engine.payments import AlreadyRunError

    leases = PartitionLeases(app.store.engine, app.store.reader)
    job, holder = f"payments:{day.isoformat()}", f"{socket.gethostname()}:{os.getpid()}"
    if leases.take(job, 1, holder, app.clock.now(), lease_seconds) is None:
        return False  # done today, or another process is running it
    try:
        app.payments.run(day)
    except AlreadyRunError:
        pass
    leases.done(job, 0, holder, app.clock.now())
    return True


@payments.command("reconcile")
@click.argument("report", type=click.Path(exists=True, dir_okay=False))
def payments_reconcile(report: str) -> None:
    """Mark payments paid or returned from the bank's camt.054.001.02 report (refused if it does not validate)."""
    from pathlib import Path

    from ..adapters.payments.camt054 import InvalidReportError

    try:
        counts = common._app().payments.reconcile(Path(report))
    except InvalidReportError as exc:
        raise click.ClickException(f"report refused, nothing marked: {exc}") from None
    click.echo(f"{counts['paid']} paid, {counts['returned']} returned, {counts['unknown']} not ours (a case each)")
