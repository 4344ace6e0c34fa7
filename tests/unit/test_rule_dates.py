"""The UK rules' date arithmetic over arrays agrees with the calendar, one date at a time.

A date that does not exist in the target month falls on the first of the next month
(29 February plus a year is 1 March), as ``uk_rules.dates`` documents."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

SPEC = importlib.util.spec_from_file_location(
    "uk_rule_dates", Path(__file__).resolve().parents[2] / "packs" / "uk" / "openfisca" / "uk_rules" / "dates.py")
dates = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(dates)


def later(d: date, years: int, months: int) -> date:
    """The same day ``years`` and ``months`` on, or the first of the next month if there is none."""
    index = d.year * 12 + d.month - 1 + years * 12 + months
    y, m = divmod(index, 12)
    try:
        return date(y, m + 1, d.day)
    except ValueError:
        return date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1)


def age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


DAYS = st.dates(min_value=date(1600, 1, 1), max_value=date(2400, 12, 31))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(DAYS, st.integers(0, 80), st.integers(-24, 24)), min_size=1, max_size=40), DAYS)
def test_parts_anniversaries_and_ages_match_the_calendar(cases, on):
    born = np.array([d for d, _, _ in cases], dtype="datetime64[D]")
    years = np.array([y for _, y, _ in cases])
    months = np.array([m for _, _, m in cases])
    year, month, day = dates.parts(born)
    assert [(int(a), int(b), int(c)) for a, b, c in zip(year, month, day, strict=True)] == [(d.year, d.month, d.day) for d, _, _ in cases]
    got = dates.anniversary(born, years, months)
    assert got.dtype == np.dtype("datetime64[D]")
    assert [g.item() for g in got] == [later(d, y, m) for d, y, m in cases]
    ages = dates.age_on(born, np.full(len(born), np.datetime64(on)))
    assert ages.tolist() == [age(d, on) for d, _, _ in cases]


def test_a_leap_day_birthday_is_reached_on_the_first_of_march():
    born = np.array(["2000-02-29", "2004-02-29", "1999-03-31"], dtype="datetime64[D]")
    assert dates.anniversary(born, 1).tolist() == [date(2001, 3, 1), date(2005, 3, 1), date(2000, 3, 31)]
    assert dates.anniversary(born, 0, 1).tolist() == [date(2000, 3, 29), date(2004, 3, 29), date(1999, 5, 1)]
    assert dates.age_on(born, np.datetime64("2018-02-28")).tolist() == [17, 13, 18]
    assert dates.age_on(born, np.datetime64("2018-03-01")).tolist() == [18, 14, 18]
    assert dates.anniversary(born[:1], 16).tolist() == [date(2016, 2, 29)]
