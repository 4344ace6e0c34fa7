"""Moments: checking their YAML."""

from __future__ import annotations

from pathlib import Path

import click

from .common import main


@main.group()
def moments() -> None:
    """Moment definitions."""


@moments.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--events", "events_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="event schemas to check names against (default: the pack's)")
def moments_check(directory: Path, events_dir: Path | None) -> None:
    """Validate every moment in DIRECTORY; errors give the file and the line."""
    from ..domain.events import ENGINE_EVENT_TYPES
    from ..packs.event_types import load_event_types
    from ..packs.moments import load_moments
    from ..settings import Settings

    events_dir = events_dir or (directory.parent / "events")
    if not events_dir.is_dir():
        events_dir = Settings().pack_dir / "events"
    known = set(load_event_types(events_dir)) | ENGINE_EVENT_TYPES
    found = load_moments(directory, known)
    for m in found.values():
        click.echo(f"ok  {m.id:<24} {len(m.steps)} steps  ({m.source_file})")
    click.echo(f"{len(found)} moment(s) valid")
