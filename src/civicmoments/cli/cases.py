"""Cases, for operators: list, show, assign and resolve, record an appeal, read the documents
attached, acting as a named officer."""

from __future__ import annotations

import click

from . import common
from .common import _out, main


@main.group()
def cases() -> None:
    """Cases: human work on people's journeys."""


def _as(app, name: str | None):
    return app.officers.get(name) if name else None


@cases.command("list")
@click.option("--queue", default=None)
@click.option("--status", default=None, help="open, assigned, waiting-on-person, waiting-on-agency, resolved")
@click.option("--assignee", default=None, help="an officer's name or id")
@click.option("--person", default=None)
@click.option("--as", "as_officer", default=None, help="list as this officer: only the queues they may see")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def cases_list(queue, status, assignee, person, as_officer, limit, as_json) -> None:
    """List cases by due date."""
    app = common._app()
    who = app.officers.get(assignee).id if assignee else None
    found, _ = app.cases.page(queue, status, who, person, officer=_as(app, as_officer), limit=limit)
    if as_json:
        _out([c.summary() for c in found])
        return
    if not found:
        click.echo("no cases")
    for c in found:
        click.echo(f"{c.id}  {c.queue:<26} {c.status.value:<18} {c.priority:<7} due {c.due_at:%Y-%m-%d %H:%M}  "
                   f"person {c.person}")


@cases.command("show")
@click.argument("case_id")
@click.option("--as", "as_officer", default=None, help="look as this officer")
@click.option("--json", "as_json", is_flag=True)
def cases_show(case_id: str, as_officer: str | None, as_json: bool) -> None:
    """A case with its notes, tasks and timeline."""
    app = common._app()
    case = app.cases.get(case_id, _as(app, as_officer))
    if as_json:
        _out(case.as_dict())
        return
    names = {o.id: o.name for o in app.officers.list()}
    click.echo(f"case {case.id} in {case.queue} ({case.organisation}), version {case.version}")
    click.echo(f"  person {case.person}, priority {case.priority}, status {case.status.value}, "
               f"due {case.due_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"  reason: {case.reason}")
    if case.assignee:
        click.echo(f"  assigned to {names.get(case.assignee, case.assignee)}")
    if case.outcome:
        click.echo(f"  outcome: {case.outcome} ({case.outcome_reason}), by "
                   f"{names.get(case.resolved_by, case.resolved_by or 'the platform')}")
    click.echo("timeline:")
    for e in case.timeline:
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items() if v is not None)
        click.echo(f"  {e.at:%Y-%m-%d %H:%M}  {names.get(e.actor, e.actor or 'platform'):<16} {e.action:<10} {detail}")


@cases.command("assign")
@click.argument("case_id")
@click.argument("officer")
@click.option("--version", type=int, required=True, help="the version you looked at (civic cases show)")
@click.option("--as", "as_officer", default=None, help="the officer doing it (default: OFFICER takes it)")
@click.option("--json", "as_json", is_flag=True)
def cases_assign(case_id: str, officer: str, version: int, as_officer: str | None, as_json: bool) -> None:
    """Give a case to an officer."""
    app = common._app()
    case = app.cases.assign(case_id, app.officers.get(officer), version, by=_as(app, as_officer))
    if as_json:
        _out(case.summary())
    else:
        click.echo(f"case {case.id} assigned to {officer} (version {case.version})")


@cases.command("resolve")
@click.argument("case_id")
@click.argument("outcome")
@click.option("--reason", required=True, help="why: the person is told")
@click.option("--version", type=int, required=True, help="the version you looked at (civic cases show)")
@click.option("--as", "as_officer", required=True, help="the officer deciding")
@click.option("--value", default=None, help="accepting a correction: the right value, recorded as a verified fact")
@click.option("--basis", default=None, help="accepting a correction: what you checked")
@click.option("--json", "as_json", is_flag=True)
def cases_resolve(case_id: str, outcome: str, reason: str, version: int, as_officer: str, value: str | None,
                  basis: str | None, as_json: bool) -> None:
    """Resolve a case with an outcome its queue allows; the journey that opened it hears the outcome.
    Accepting a correction needs --value and --basis."""
    app = common._app()
    case = app.cases.resolve(case_id, app.officers.get(as_officer), outcome, reason, version, value=value,
                             basis=basis)
    if as_json:
        _out(case.summary())
    else:
        click.echo(f"case {case.id} resolved: {case.outcome}")


@cases.command("appeal")
@click.argument("case_id")
@click.option("--channel", required=True, help="how the appeal reached us: post, phone, online or assisted")
@click.option("--received-on", required=True, help="the date the tribunal received it, YYYY-MM-DD")
@click.option("--reference", default=None, help="the tribunal's reference")
@click.option("--as", "as_officer", required=True, help="the officer recording it")
@click.option("--json", "as_json", is_flag=True)
def cases_appeal(case_id: str, channel: str, received_on: str, reference: str | None, as_officer: str,
                 as_json: bool) -> None:
    """Record the person's appeal to the tribunal against a mandatory reconsideration that kept the
    decision; its journey opens an appeal case."""
    app = common._app()
    case = app.appeals.record(case_id, app.officers.get(as_officer), channel, received_on, reference)
    if as_json:
        _out(case.summary())
    else:
        click.echo(f"appeal recorded on case {case.id}; an appeal case opens for the tribunal's decision")


@cases.command("evidence")
@click.argument("case_id")
@click.argument("evidence_id", required=False)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="with EVIDENCE_ID: the file to write the document to")
@click.option("--as", "as_officer", required=True, help="the officer reading (the person sees it in their access log)")
@click.option("--json", "as_json", is_flag=True)
def cases_evidence(case_id: str, evidence_id: str | None, out: str | None, as_officer: str, as_json: bool) -> None:
    """The documents the person attached to a case; with EVIDENCE_ID and --out, one written to a file."""
    from pathlib import Path

    from ..domain.clock import iso

    app = common._app()
    officer = app.officers.get(as_officer)
    if evidence_id is None:
        listed = [{**e, "uploaded_at": iso(e["uploaded_at"])} for e in app.evidence.of_case(officer, case_id)]
        if as_json:
            _out(listed)
        elif not listed:
            click.echo("no documents on this case")
        for e in ([] if as_json else listed):
            click.echo(f"{e['id']}  {e['filename']}  {e['media_type']}  {e['size']} bytes  {e['uploaded_at']}")
        return
    if out is None:
        raise click.UsageError("give --out FILE to write the document to")
    row, data = app.evidence.read(officer, case_id, evidence_id)
    Path(out).write_bytes(data)
    click.echo(f"{row['filename']} ({row['media_type']}, {len(data)} bytes) written to {out}")
