"""The Clock port, so deadlines and milestones can be tested without sleeping."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
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


@lru_cache(maxsize=256)  # a batch of journeys writes the same few instants many times over
def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))",
    re.ASCII,
)


class InvalidTimestampError(ValueError):
    """Not an RFC 3339 date-time."""


class TimestampOutOfRangeError(InvalidTimestampError):
    """Valid RFC 3339 syntax whose UTC instant is outside what a datetime holds."""


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 ``date-time`` (section 5.6) exactly, as a UTC datetime.

    ``2026-11-21T09:00:00Z``, ``2026-11-21t09:00:00.25z`` (the T and Z may be lower case, as the
    RFC's note allows) and ``2026-11-21T10:00:00+01:00`` are accepted; an offset of ``-00:00``
    (UTC, the local offset unknown) reads as UTC. Refused: the basic form ``20261121T090000Z``,
    a space for the T, a missing seconds field or offset, ``+0100``, other digits than 0-9,
    and values outside the RFC's ranges (month 13, 30 February, hour 24, minute 60, offset
    hour 24). A leap second (second 60, allowed by the RFC) is read as the last microsecond of
    its minute, since Python's datetime has no 60th second. Fractions beyond microseconds are cut.

    Raises InvalidTimestampError saying what is wrong; its subclass TimestampOutOfRangeError for
    valid syntax whose UTC instant falls outside the calendar (a question of range).
    """
    if not isinstance(text, str):
        raise InvalidTimestampError(f"{text!r} is not a string")
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise InvalidTimestampError(
            f"{text!r} is not an RFC 3339 date-time; write it like 2026-01-05T09:00:00Z or "
            "2026-01-05T10:00:00+01:00 (date, T, hours:minutes:seconds, then Z or an offset)")
    try:
        day = date.fromisoformat(m["date"])
    except ValueError:
        raise InvalidTimestampError(f"{text!r} has no such day: {m['date']}") from None
    hour, minute, second = int(m["hour"]), int(m["minute"]), int(m["second"])
    off_hour, off_minute = int(m["off_hour"] or 0), int(m["off_minute"] or 0)
    if hour > 23 or minute > 59 or second > 60 or off_hour > 23 or off_minute > 59:
        raise InvalidTimestampError(f"{text!r} is out of range: hours 00-23, minutes 00-59, seconds 00-60, "
                                    "offset hours 00-23")
    micro = int((m["fraction"] or "0")[:6].ljust(6, "0"))
    leap = second == 60
    if leap:
        second, micro = 59, 999999
    offset = timedelta(hours=off_hour, minutes=off_minute) * (-1 if m["sign"] == "-" else 1)
    try:
        local = datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=timezone(offset))
    except ValueError as exc:
        raise InvalidTimestampError(f"{text!r} cannot be read: {exc}") from None
    try:
        return local.astimezone(timezone.utc)
    except OverflowError:  # valid syntax, but the UTC instant falls before year 1 (year 1 at +14:00)
        raise TimestampOutOfRangeError(f"{text!r} falls outside the calendar once read as UTC") from None


def parse_time(text: str) -> datetime:
    """An RFC 3339 date-time as UTC (``parse_rfc3339``); raises InvalidTimestampError (a ValueError)."""
    return parse_rfc3339(text)
