"""The access log: checkpoints and verification."""

from __future__ import annotations

import sys

import click

from . import common
from .common import main


@main.group()
def audit() -> None:
    """The access log."""


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the head of the access log now (Ed25519); `civic serve` also does this by itself."""
    done = common._app().audit.checkpoint()
    click.echo("the log is empty" if done is None else f"signed checkpoint at entry {done[0]}: {done[1]}")


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain, the checkpoints and their external copy; say what is wrong and where."""
    report = common._app().audit.verify()
    where = f", last checkpoint at entry {report.checkpoint}" if report.checkpoint else ", no checkpoint yet"
    if report.copy:
        where += f" (compared with {report.copy})"
    if report.intact:
        click.echo(f"intact: {report.entries} entries{where}")
        return
    click.echo(f"TAMPERED: {len(report.problems)} problem(s) in {report.entries} entries{where}", err=True)
    for p in report.problems:
        click.echo(f"  - {p}", err=True)
    sys.exit(1)
