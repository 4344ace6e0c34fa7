"""``civic insights show --from/--to``: a day is midnight UTC; a time with an offset keeps it."""

from __future__ import annotations

from datetime import datetime, timezone

from civicmoments.cli.insights import _when


def test_a_day_is_midnight_utc():
    assert _when("2026-11-01") == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert _when(None) is None


def test_a_time_with_an_offset_is_that_instant_not_the_same_clock_time_in_utc():
    # an hour before midnight UTC: read with SQL, not as the day the projection sums from
    assert _when("2026-11-01T00:00:00+01:00") == datetime(2026, 10, 31, 23, tzinfo=timezone.utc)
