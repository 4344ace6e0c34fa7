"""Life events: sending, quarantine, replay and dead letters."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..engine.errors import Problem
from . import common
from .common import _out, main


@main.group()
def events() -> None:
    """Send events, and look after the ones that failed."""


BATCH = 1000  # events per submission: memory stays bounded by this, not by the file


def _lines(path: Path, bar) -> Iterator[str]:
    """The file's lines, decoded, moving the progress bar by the bytes read."""
    with path.open("rb") as f:
        first = True
        for raw in f:
            bar.update(len(raw))
            line = raw.decode("utf-8")
            if first:
                line, first = line.removeprefix("\ufeff"), False
            yield line


def _csv_batches(lines: Iterator[str], event_type, source: str) -> Iterator[tuple[int, list[Any]]]:
    """(line of the batch's first row, one CsvRow per row), BATCH rows at a time.

    Each row stands alone: a row that cannot be read or mapped is a rejected CsvRow with its
    line in the file, and the rest go on. Only a header that spoils the whole file raises.
    """
    from ..engine.csv_intake import CsvRow, read_rows
    from ..engine.errors import CsvMappingError, MalformedCsvRowError

    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise CsvMappingError(f"line 1: the CSV header cannot be read: {exc}") from None
    done = False
    while not done:
        first = reader.line_num + 1
        rows: list[tuple[int, list[str]]] = []
        unreadable: list[Any] = []
        while len(rows) + len(unreadable) < BATCH:
            at = reader.line_num + 1
            try:
                rows.append((at, next(reader)))
            except StopIteration:
                done = True
                break
            except csv.Error as exc:
                unreadable.append(CsvRow(at, None, problem=MalformedCsvRowError(
                    f"line {at}: the row cannot be read: {exc}", [{"pointer": f"/line/{at}", "message": str(exc)}])))
        if not rows and not unreadable:
            return
        text = io.StringIO()
        csv.writer(text).writerows([header, *(fields for _, fields in rows)])
        lines_in_file = {n + 2: at for n, (at, _) in enumerate(rows)}  # the batch's own line -> the file's
        found = [replace(r, line=lines_in_file.get(r.line, r.line), problem=_relined(r.problem, r.line,
                                                                                     lines_in_file.get(r.line)))
                 for r in read_rows(event_type, text.getvalue(), source)]
        yield first, sorted([*found, *unreadable], key=lambda r: r.line)


def _relined(problem: Problem | None, batch_line: int, file_line: int | None) -> Problem | None:
    """A row's problem speaks of its line in the file, not in the batch."""
    if problem is None or file_line is None or file_line == batch_line:
        return problem
    problem.detail = re.sub(rf"\bline {batch_line}\b", f"line {file_line}", problem.detail or "")
    for e in problem.errors:
        e["pointer"] = re.sub(rf"^/line/{batch_line}\b", f"/line/{file_line}", e["pointer"])
    return problem


def _json_batches(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, list[Any] | Problem]]:
    from ..engine import bounds

    if path.suffix.lower() == ".jsonl":
        batch: list[Any] = []
        start = 1
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                value = bounds.loads(line)
            except Problem as problem:
                problem.detail = f"{path}:{n}: {problem.detail}"
                yield n, problem
                continue
            batch.append(value)
            if len(batch) == BATCH:
                yield start, batch
                batch, start = [], n + 1
        if batch:
            yield start, batch
        return
    data = bounds.loads("".join(lines), str(path))  # one JSON document is read whole: send large files as JSONL or CSV
    events = data if isinstance(data, list) else [data]
    for i in range(0, len(events), BATCH):
        yield i + 1, events[i : i + BATCH]


def event_batches(path: Path, type_name: str | None, source: str | None, app, bar) -> Iterator[tuple[int, Any]]:
    from ..engine.errors import UnknownEventTypeError

    if path.suffix.lower() == ".csv":
        event_type = app.pack.event_types.get(type_name or "")
        if event_type is None:
            raise UnknownEventTypeError(f"a CSV file needs --type naming a registered event type; got {type_name!r}")
        if not source:
            raise click.UsageError("a CSV file needs --source (the CloudEvents source of its rows)")
        return _csv_batches(_lines(path, bar), event_type, source)
    return _json_batches(path, _lines(path, bar))


@events.command("send")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True, help="the sending organisation")
@click.option("--type", "type_name", default=None, help="event type of a CSV file's rows")
@click.option("--source", default=None, help="CloudEvents source of a CSV file's rows")
@click.option("--json", "as_json", is_flag=True, help="print a receipt per event, as JSON lines")
def events_send(file: Path, org_name: str, type_name: str | None, source: str | None, as_json: bool) -> None:
    """Send events from a JSON, JSONL or CSV file, as an organisation.

    JSONL and CSV files are read and sent 1,000 events at a time, so a file of any size is sent in
    bounded memory; a progress bar shows the bytes sent. A batch that cannot be read is reported and
    the rest of the file is still sent.
    """
    from ..domain.organisations import Organisation
    from ..engine.csv_intake import CsvRow, submit_rows
    from ..engine.errors import NotFoundError

    app = common._app()
    row = app.store.organisation(org_name)
    if row is None:
        raise NotFoundError(f"no organisation named {org_name!r}; add it with 'civic orgs add'")
    if row["revoked_at"] is not None:
        raise click.ClickException(f"organisation {org_name!r} is revoked")
    org = Organisation(row["id"], row["name"], tuple(row["sources"]), tuple(row["scopes"]))
    counts: dict[str, int] = {}
    index = 0
    with click.progressbar(length=file.stat().st_size, label="sending", file=sys.stderr,
                           hidden=file.stat().st_size < 1_000_000) as bar:
        for first, batch in event_batches(file, type_name, source, app, bar):
            if isinstance(batch, Problem):
                counts["unread"] = counts.get("unread", 0) + 1
                click.echo(f"from line {first}: {batch.title}: {batch.detail}", err=True)
                for e in batch.errors[:20]:
                    click.echo(f"    {e['pointer']}: {e['message']}", err=True)
                continue
            if batch and isinstance(batch[0], CsvRow):
                receipts = submit_rows(app.intake, org, batch, source, first_index=index)
            else:
                receipts = [replace(r, index=r.index + index) for r in app.intake.submit(org, batch)]
            for r in receipts:
                counts[r.status] = counts.get(r.status, 0) + 1
                if as_json:
                    click.echo(json.dumps(r.as_dict()))
                elif r.problem is not None:
                    where = f"line {r.line}" if r.line is not None else f"event {r.index}"
                    click.echo(f"{where} ({r.id}): {r.problem.title}: {r.problem.detail}", err=True)
            index += len(batch)
    if not as_json:
        click.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no events in the file")
    if counts.get("rejected") or counts.get("unread"):
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


@events.command("refused")
@click.option("--json", "as_json", is_flag=True)
def events_refused(as_json: bool) -> None:
    """List messages published on NATS that could not be taken in, newest first, with the reason."""
    from ..adapters.nats_intake import RefusalStore

    app = common._app()
    rows = RefusalStore(app.store.engine, app.store.reader).list()
    if as_json:
        _out(rows)
        return
    if not rows:
        click.echo("no refused messages")
    for r in rows:
        click.echo(f"#{r['id']} {r['at']:%Y-%m-%d %H:%M:%S} on {r['subject']}\n    {r['reason']}")


@events.command("replay")
@click.argument("seqs", nargs=-1, type=click.IntRange(1, 2**63 - 1))  # an event's number is a 64-bit integer
@click.option("--all", "everything", is_flag=True, help="replay every quarantined event")
def events_replay(seqs: tuple[int, ...], everything: bool) -> None:
    """Put quarantined events back in the inbox (by their #number, or --all)."""
    if not seqs and not everything:
        raise click.UsageError("name the events to replay by number, or pass --all")
    if seqs and everything:
        raise click.UsageError("name the events to replay, or pass --all, not both")
    n = common._app().store.replay(None if everything else list(seqs))
    click.echo(f"{n} event(s) back in the inbox")
    if seqs and n < len(set(seqs)):
        click.echo(f"{len(set(seqs)) - n} of the numbers given name no quarantined event "
                   "(see: civic events quarantine)", err=True)


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
