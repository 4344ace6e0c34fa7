from __future__ import annotations

from datetime import timedelta

import pytest

from civicmoments.domain.clock import InvalidDurationError, parse_duration
from civicmoments.engine.csv_intake import coerce, read_rows
from civicmoments.engine.errors import CsvMappingError
from civicmoments.packs import load_pack

from ..conftest import UK_PACK

JOB_ENDED = load_pack(UK_PACK).event_types["uk.gov.dwp.employment.job-ended"]
HEADER = "notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"


def events(text: str) -> list[dict]:
    return [r.event for r in read_rows(JOB_ENDED, text, "s") if r.event is not None]


def rejected(text: str) -> dict[int, str]:
    return {r.line: r.problem.detail for r in read_rows(JOB_ENDED, text, "s") if r.problem is not None}


def test_csv_rows_become_events_with_typed_data():
    (row,) = read_rows(JOB_ENDED, HEADER + "N1,p1,redundancy,2026-11-20,34,2,welder\n", "https://x/hr")
    assert row.line == 2 and row.event == {
        "specversion": "1.0", "type": JOB_ENDED.type, "source": "https://x/hr", "id": "N1",
        "subject": "p1", "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 34,
                                   "class1_contribution_years": 2, "occupation": "welder"}}


def test_an_empty_optional_cell_is_left_out():
    (e,) = events(HEADER + "N1,p1,redundancy,2026-11-20,34,,\n")
    assert "class1_contribution_years" not in e["data"]
    assert e["data"]["occupation"] == ""


@pytest.mark.parametrize("row", ["N-11,p-11,redundancy,2026-10-30,52", "N-11,p-11,redundancy,2026-10-30,52,2"])
def test_optional_trailing_fields_may_be_left_off(row):
    (e,) = events(HEADER + row + "\n")
    assert e["data"]["age"] == 52 and "occupation" not in e["data"]


def test_a_row_too_short_for_its_required_fields_or_too_long_is_rejected_alone():
    text = HEADER + ("N1,p1,redundancy,2026-10-30\n"          # line 2: ends before age
                     "N2,p2,redundancy,2026-10-30,40,2,welder\n"
                     "N3,p3,redundancy,2026-10-30,40,2,welder,extra\n"  # line 4: one field too many
                     "\n"                                          # a blank line is skipped
                     'N5,p5,redundancy,2026-10-30,40,2,"fitter, turner"\n')
    assert [e["id"] for e in events(text)] == ["N2", "N5"]
    problems = rejected(text)
    assert set(problems) == {2, 4}
    assert "ends before the required age" in problems[2]
    assert "has 8 fields but the header has 7" in problems[4]


@pytest.mark.parametrize(("cell", "value"), [("45", 45), ("45.0", 45), ("45.", 45), (" 45 ", 45), ("+45", 45)])
def test_a_whole_number_may_be_written_with_a_zero_fraction(cell, value):
    (e,) = events(HEADER + f"N1,p1,redundancy,2026-11-20,{cell},2,a\n")
    assert e["data"]["age"] == value and isinstance(e["data"]["age"], int)


@pytest.mark.parametrize(("cell", "reason"), [
    ("45.5", "is not a whole number"),
    ("old", "is not a whole number written in digits"),
    ("٣٠", "digits other than 0-9 (Arabic-Indic)"),
    ("４５", "digits other than 0-9 (Fullwidth)"),
    ("NaN", "is not a whole number written in digits"),
    ("inf", "is not a whole number written in digits"),
    ("1e400", "is not a whole number"),
    ('"1,000"', "is not a whole number written in digits"),
])
def test_a_bad_number_rejects_its_own_row_with_line_column_and_reason(cell, reason):
    text = HEADER + f"N1,p1,redundancy,2026-11-20,45,2,a\nN2,p2,redundancy,2026-11-20,{cell},2,b\n"
    rows = read_rows(JOB_ENDED, text, "s")
    assert rows[0].event is not None
    assert rows[1].event is None and rows[1].line == 3 and rows[1].id == "N2"
    (error,) = rows[1].problem.errors
    assert error["pointer"] == "/line/3/age" and reason in error["message"]


@pytest.mark.parametrize("cell", ["NaN", "inf", "-Infinity", "1e400", "٣.٥"])
def test_numbers_are_finite_and_in_ascii_digits(cell):
    with pytest.raises(ValueError):
        coerce(cell, {"type": "number"})
    assert coerce("45.5", {"type": "number"}) == 45.5 and coerce("1e3", {"type": "number"}) == 1000.0


def test_a_row_spanning_lines_is_reported_at_its_first_line():
    text = HEADER + 'N1,p1,redundancy,2026-11-20,40,2,"two\nlines"\nN2,p2,redundancy,2026-11-20,x,2,a\n'
    rows = read_rows(JOB_ENDED, text, "s")
    assert [r.line for r in rows] == [2, 4] and rows[1].problem.errors[0]["pointer"] == "/line/4/age"


def test_missing_columns_are_named():
    with pytest.raises(CsvMappingError, match="no columns: age, ni_years"):
        read_rows(JOB_ENDED, "notice_ref,person_id,reason,last_day,occupation\n", "s")


def test_a_column_named_twice_refuses_the_file_naming_it():
    with pytest.raises(CsvMappingError, match="names a column twice: age"):
        read_rows(JOB_ENDED, "notice_ref,person_id,reason,last_day,age,ni_years,occupation,age\n", "s")


def test_an_empty_file_says_what_is_missing():
    with pytest.raises(CsvMappingError, match="empty"):
        read_rows(JOB_ENDED, "", "s")


@pytest.mark.parametrize(("text", "expected"), [
    ("P14D", timedelta(days=14)), ("PT2M", timedelta(minutes=2)), ("P1W", timedelta(weeks=1)),
    ("P1DT12H", timedelta(days=1, hours=12)), ("PT0.5S", timedelta(seconds=0.5)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P1Y", "P2M", "14 days", "P", "PT", "", "P1DT"])
def test_bad_durations_are_refused(text):
    with pytest.raises(InvalidDurationError):
        parse_duration(text)


def test_a_code_in_other_digits_does_not_pass_for_ascii_digits():
    from civicmoments.packs.event_types import EventType

    codes = EventType("x.y", "", {"type": "object", "properties": {"branch": {"type": "string",
                                                                          "pattern": r"^\d{6}$"}}})
    assert codes.violations({"branch": "123456"}) == []
    (v,) = codes.violations({"branch": "١٢٣٤٥٦"})
    assert v.pointer == "/data/branch" and "does not match" in v.message
