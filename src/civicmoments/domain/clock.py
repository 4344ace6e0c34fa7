"""The Clock port, so deadlines and milestones can be tested without sleeping."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        self._now += by


class OffsetClock:
    """Real time shifted by a fixed offset: the demo uses it to jump ahead."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    @classmethod
    def starting_at(cls, start: datetime) -> OffsetClock:
        """A clock that reads ``start`` (aware; any zone, kept as UTC) now and runs at real speed."""
        if start.tzinfo is None:
            raise ValueError(f"clock start {start.isoformat()} has no time zone; give UTC, e.g. 2026-11-30T09:00:00Z")
        return cls(start.astimezone(timezone.utc) - datetime.now(timezone.utc))

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, by: timedelta) -> None:
        """Jump ahead (the demo plays weeks out in seconds)."""
        self.offset += by


def clock_for(start: datetime | None) -> Clock:
    """The clock a process runs on: the wall clock in production, or one set to ``start``.

    ``start`` comes from the ``CIVIC_NOW`` setting; tests and the demo set it so they decide
    on the day they are given, and still pass next year.
    """
    return SystemClock() if start is None else OffsetClock.starting_at(start)


_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class InvalidDurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration made of weeks, days, hours, minutes and seconds.

    Years and months have no fixed length, so they are refused: write days instead.
    """
    match = _DURATION.match(text or "")
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise InvalidDurationError(
            f"{text!r} is not an ISO 8601 duration such as P14D, PT2M or P1W "
            "(years and months are not allowed: write days)"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone; send UTC, e.g. 2026-01-05T09:00:00Z")
    return dt.astimezone(timezone.utc)
