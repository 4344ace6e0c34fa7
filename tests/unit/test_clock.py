"""The clock is an input: a process set to a day decides on that day, whatever the wall clock says."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from civicmoments.domain.clock import OffsetClock, SystemClock, clock_for
from civicmoments.settings import Settings


def test_a_set_clock_reads_the_day_it_was_set_to_and_then_runs():
    start = datetime(2027, 2, 26, 9, 0, tzinfo=timezone.utc)
    clock = clock_for(start)
    first = clock.now()
    assert abs(first - start) < timedelta(seconds=1)
    assert clock.now() >= first


def test_a_set_clock_can_jump_ahead():
    clock = OffsetClock.starting_at(datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc))
    clock.advance(timedelta(days=14))
    assert clock.now().date().isoformat() == "2026-12-14"


def test_without_a_setting_the_wall_clock_is_read():
    assert isinstance(clock_for(None), SystemClock)


def test_the_setting_takes_an_rfc3339_time_from_the_environment(monkeypatch):
    monkeypatch.setenv("CIVIC_NOW", "2026-11-30T09:00:00Z")
    assert Settings().now == datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def test_a_start_without_a_time_zone_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="no time zone"):
        OffsetClock.starting_at(datetime(2026, 11, 30, 9, 0))


def test_identifiers_made_in_one_millisecond_keep_their_order():
    from civicmoments.domain.ids import uuid7

    made = [uuid7() for _ in range(5000)]  # many share a millisecond
    assert made == sorted(made) and len(set(made)) == len(made)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_never_uses_its_parents_random_bits():
    from civicmoments.domain.ids import uuid7

    uuid7()  # random bytes drawn, most of them not yet used
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the same millisecond, so only the random bits can differ
        os.write(write, uuid7(1).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 64).decode() != uuid7(1)
