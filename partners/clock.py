"""The partners' clock: the wall clock, or one that starts at a given instant and runs on.

A partner decides dates of its own (interview slots on the next working day, when a tap
happened). Beside a platform whose clock is set (``CIVIC_NOW``), a partner is started with the
same instant (``--now``), so a demo or a test tells one story on one calendar whatever day it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timezone

Now = Callable[[], datetime]


def wall() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(timezone.utc)


def starting_at(start: str | None) -> Now:
    """A clock reading ``start`` (ISO 8601 with a zone, e.g. 2026-11-23T09:00:00Z) now and running at
    real speed; the wall clock when ``start`` is empty. Raises ``ValueError`` for a start that is
    not an instant with a zone."""
    if not start:
        return wall
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--now is an ISO 8601 instant, e.g. 2026-11-23T09:00:00Z; got {start!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"--now {start} has no time zone; give UTC, e.g. 2026-11-23T09:00:00Z")
    offset = moment - wall()
    return lambda: wall() + offset


def add_argument(ap: argparse.ArgumentParser, env: str) -> None:
    """``--now`` (or the variable ``env``): start the partner's clock at this instant."""
    import os

    ap.add_argument("--now", default=os.environ.get(env),
                    help=f"start the clock at this UTC instant ({env}), as the platform's CIVIC_NOW; "
                         "unset: the wall clock")


def from_args(ap: argparse.ArgumentParser, args: argparse.Namespace) -> Now:
    """The clock ``--now`` names; a bad value is the usage error, with the reason."""
    try:
        return starting_at(args.now)
    except ValueError as exc:
        ap.error(str(exc))
