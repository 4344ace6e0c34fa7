"""The partners' clock: the wall clock, or one that starts at a given instant and runs on.

A partner decides dates of its own (interview slots on the next working day, when a tap
happened). Beside a platform whose clock is set (``CIVIC_NOW``), a partner is started with the
same instant (``--now``), so a demo or a test tells one story on one calendar whatever day it runs.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from datetime import datetime, timezone

Now = Callable[[], datetime]
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def wall() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(timezone.utc)


def starting_at(start: str | None) -> Now:
    """A clock reading ``start`` now and running at real speed; the wall clock when ``start`` is None.

    ``start`` is an RFC 3339 instant with its zone (2026-11-23T09:00:00Z, or an offset such as
    +01:00), as the platform's ``CIVIC_NOW`` is written, in the years 1900 to 9000. Raises
    ``ValueError`` for anything else, an empty value included: an unset variable passed on as
    ``--now ""`` would otherwise quietly split the calendar this option exists to join.
    """
    if start is None:
        return wall
    if not RFC3339.match(start):
        raise ValueError(f"--now is an RFC 3339 instant with its zone, e.g. 2026-11-23T09:00:00Z; got {start!r}")
    try:
        moment = datetime.fromisoformat(start.upper().replace("Z", "+00:00")).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError(f"--now {start!r} is not a real instant; give one such as 2026-11-23T09:00:00Z") from None
    if not 1900 <= moment.year <= 9000:
        raise ValueError(f"--now {start!r} is outside the years 1900 to 9000")
    offset = moment - wall()
    return lambda: wall() + offset


def add_argument(ap: argparse.ArgumentParser, env: str) -> None:
    """``--now`` (or the variable ``env``): start the partner's clock at this instant."""
    ap.add_argument("--now", default=os.environ.get(env),
                    help=f"start the clock at this UTC instant ({env}), as the platform's CIVIC_NOW; "
                         "unset: the wall clock")


def from_args(ap: argparse.ArgumentParser, args: argparse.Namespace) -> Now:
    """The clock ``--now`` names; a bad value is the usage error, with the reason."""
    try:
        return starting_at(args.now)
    except ValueError as exc:
        ap.error(str(exc))
