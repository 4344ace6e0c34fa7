"""Life events: sending, quarantine, replay and dead letters."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click

from . import common
from .common import _out, main


@main.group()
def events() -> None:
    """Send events, and look after the ones that failed."""


def read_events(path: Path, type_name: str | None, source: str | None, app) -> list[Any]:
    from ..engine.csv_intake import rows_to_events
    from ..engine.errors import MalformedJsonError, UnknownEventTypeError

    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        event_type = app.pack.event_types.get(type_name or "")
        if event_type is None:
            raise UnknownEventTypeError(f"a CSV file needs --type naming a registered event type; got {type_name!r}")
        if not source:
            raise click.UsageError("a CSV file needs --source (the CloudEvents source of its rows)")
        return rows_to_events(event_type, text, source)
    stripped = text.strip()
    try:
        if path.suffix.lower() == ".jsonl":
            return [json.loads(line) for line in stripped.splitlines() if line.strip()]
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    return data if isinstance(data, list) else [data]


@events.command("send")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True, help="the sending organisation")
@click.option("--type", "type_name", default=None, help="event type of a CSV file's rows")
@click.option("--source", default=None, help="CloudEvents source of a CSV file's rows")
@click.option("--json", "as_json", is_flag=True)
def events_send(file: Path, org_name: str, type_name: str | None, source: str | None, as_json: bool) -> None:
    """Send events from a JSON, JSONL or CSV file, as an organisation."""
    from ..domain.organisations import Organisation
    from ..engine.errors import NotFoundError

    app = common._app()
    row = app.store.organisation(org_name)
    if row is None:
        raise NotFoundError(f"no organisation named {org_name!r}; add it with 'civic orgs add'")
    if row["revoked_at"] is not None:
        raise click.ClickException(f"organisation {org_name!r} is revoked")
    org = Organisation(row["id"], row["name"], tuple(row["sources"]), tuple(row["scopes"]))
    raws = read_events(file, type_name, source, app)
    receipts = []
    with click.progressbar(length=len(raws), label="sending", file=sys.stderr,
                           hidden=len(raws) < 1000) as bar:
        for start in range(0, len(raws), 1000):
            part = app.intake.submit(org, raws[start : start + 1000])
            receipts.extend(dataclasses.replace(r, index=r.index + start) for r in part)
            bar.update(len(part))
    if as_json:
        _out([r.as_dict() for r in receipts])
    else:
        counts: dict[str, int] = {}
        for r in receipts:
            counts[r.status] = counts.get(r.status, 0) + 1
            if r.problem is not None:
                click.echo(f"event {r.index} ({r.id}): {r.problem.title}: {r.problem.detail}", err=True)
        click.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if any(r.status == "rejected" for r in receipts):
        sys.exit(1)


@events.command("quarantine")
@click.option("--json", "as_json", is_flag=True)
def events_quarantine(as_json: bool) -> None:
    """List events that failed in processing, with the reason."""
    rows = common._app().store.quarantined()
    if as_json:
        _out(rows)
        return
    if not rows:
        click.echo("quarantine is empty")
    for r in rows:
        click.echo(f"#{r['seq']} {r['type']} {r['source']} {r['event_id']}\n    {r['error']}")


@events.command("replay")
@click.argument("seqs", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="replay every quarantined event")
def events_replay(seqs: tuple[int, ...], everything: bool) -> None:
    """Put quarantined events back in the inbox (by their #number, or --all)."""
    if not seqs and not everything:
        raise click.UsageError("name the events to replay by number, or pass --all")
    n = common._app().store.replay(None if everything else list(seqs))
    click.echo(f"{n} event(s) back in the inbox")


@events.command("dead-letters")
@click.option("--json", "as_json", is_flag=True)
def events_dead_letters(as_json: bool) -> None:
    """List effects that were given up on."""
    rows = common._app().store.dead_letters()
    if as_json:
        _out(rows)
        return
    if not rows:
        click.echo("no dead letters")
    for r in rows:
        click.echo(f"{r['key']} ({r['kind']}, {r['attempts']} attempts): {r['last_error']}")
