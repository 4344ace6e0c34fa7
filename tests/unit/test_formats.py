"""Values as a person reads them: dates, UK local times across the clock changes, distances,
money without needless pence and job titles, in English and Welsh."""

from datetime import date, datetime, timezone

import pytest

from civicmoments import formats


def test_dates_read_as_day_month_year_in_english_and_welsh():
    assert formats.day(date(2048, 3, 14)) == "14 March 2048"
    assert formats.day("2048-03-14") == "14 March 2048"
    assert formats.day(date(2048, 3, 14), "cy") == "14 Mawrth 2048"
    assert formats.day("2026-12-01", "cy") == "1 Rhagfyr 2026"


def test_a_utc_moment_late_in_the_evening_falls_on_the_next_uk_day_in_summer():
    late = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)
    assert formats.day(late) == "1 July 2026"  # 00:30 BST
    assert formats.day(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == "31 December 2026"  # GMT


def test_times_are_uk_local_either_side_of_the_clock_changes():
    # 2026: BST starts 01:00 UTC on 29 March, ends 01:00 UTC on 25 October.
    assert formats.clock_time("2026-03-29T00:30:00+00:00") == "12:30am"  # GMT, before the change
    assert formats.clock_time("2026-03-29T01:30:00+00:00") == "2:30am"  # BST, an hour on
    assert formats.clock_time(datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)) == "1:30am"  # still BST
    assert formats.clock_time(datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)) == "1:30am"  # GMT again
    assert formats.clock_time("2026-07-14T08:00:00Z") == "9am"
    assert formats.clock_time(datetime(2026, 1, 14, 14, 15)) == "2:15pm"  # naive is stored UTC


def test_a_moment_names_its_weekday_date_and_local_time():
    assert formats.when("2026-12-08T10:00:00+00:00") == "Tuesday 8 December 2026, 10am"
    assert formats.when("2026-07-14T08:30:00+00:00") == "Tuesday 14 July 2026, 9:30am"
    welsh = formats.when("2026-07-14T08:30:00+00:00", "cy")
    assert welsh.startswith("Dydd Mawrth 14 Gorffennaf 2026, 9:30")


@pytest.mark.parametrize(("miles", "en", "cy"), [
    (0.0, "less than a mile", "llai na milltir"),
    (0.4, "less than a mile", "llai na milltir"),
    (1.2, "1 mile", "1 filltir"),
    (2.5, "3 miles", "3 milltir"),
    (2.6, "3 miles", "3 milltir"),
    (10, "10 miles", "10 milltir"),
    (None, "less than a mile", "llai na milltir"),
])
def test_distances_are_rounded_as_people_say_them(miles, en, cy):
    assert formats.distance(miles) == en
    assert formats.distance(miles, "cy") == cy


def test_money_has_pence_only_when_there_are_some():
    assert formats.money(3149200) == "£31,492"
    assert formats.money(9015) == "£90.15"
    assert formats.money(0) == "£0"
    assert formats.money(3149200, "cy") == "£31,492"
    assert formats.pounds(90.15) == "£90.15"
    assert formats.pounds("7500") == "£7,500"
    with pytest.raises(TypeError):
        formats.money(12.5)


def test_job_titles_read_as_published():
    assert formats.job_title("midwife") == "Midwife"
    assert formats.job_title("HGV driver") == "HGV driver"
    assert formats.job_title("  primary school  teaching assistant ") == "Primary school teaching assistant"


def test_filters_bind_the_locale_for_templates():
    f = formats.filters("cy")
    assert f["day"]("2048-03-14") == "14 Mawrth 2048"
    assert f["money"](3149200) == "£31,492"
    assert f["miles"](3.4) == "3 milltir"
