from __future__ import annotations

from datetime import timedelta

import pytest

from civicmoments.domain.clock import InvalidDurationError, parse_duration
from civicmoments.engine.csv_intake import rows_to_events
from civicmoments.engine.errors import CsvMappingError
from civicmoments.packs import load_pack

from ..conftest import UK_PACK

JOB_ENDED = load_pack(UK_PACK).event_types["uk.gov.dwp.employment.job-ended"]
HEADER = "notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"


def test_csv_rows_become_events_with_typed_data():
    events = rows_to_events(JOB_ENDED, HEADER + "N1,p1,redundancy,2026-11-20,34,2,welder\n", "https://x/hr")
    assert events == [{
        "specversion": "1.0", "type": JOB_ENDED.type, "source": "https://x/hr", "id": "N1",
        "subject": "p1", "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 34,
                                   "class1_contribution_years": 2, "occupation": "welder"}}]


def test_an_empty_optional_cell_is_left_out():
    (e,) = rows_to_events(JOB_ENDED, HEADER + "N1,p1,redundancy,2026-11-20,34,,\n", "s")
    assert "class1_contribution_years" not in e["data"]
    assert e["data"]["occupation"] == ""


def test_a_bad_number_names_its_line_and_column():
    with pytest.raises(CsvMappingError) as info:
        rows_to_events(JOB_ENDED, HEADER + "N1,p1,redundancy,2026-11-20,34,2,a\nN2,p2,redundancy,2026-11-20,old,2,b\n", "s")
    assert info.value.errors == [{"pointer": "/line/3/age", "message": "invalid literal for int() with base 10: 'old'"}]


def test_missing_columns_are_named():
    with pytest.raises(CsvMappingError, match="no columns: age, ni_years"):
        rows_to_events(JOB_ENDED, "notice_ref,person_id,reason,last_day,occupation\n", "s")


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
