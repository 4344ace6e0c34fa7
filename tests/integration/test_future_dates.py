"""A redundancy reported ahead of the last day starts the journey, but what assumes the job
has ended (recording unemployment, the award, the fare concession) waits for the day with a
timer; the person hears at once, with the date. A last day past the pack's horizon is refused,
naming /data/last_day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from civicmoments.domain.clock import FakeClock

from ..conftest import make_app

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
EMPLOYER = "https://northfield.example/hr"


@pytest.fixture
def world(db_url):
    clock = FakeClock(NOW)
    app = make_app(db_url, clock)
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    employer, _ = app.organisations.add("Northfield", ["https://northfield.example/*"], ["uk.gov.dwp.employment.*"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in {
        "given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1984-05-02", "home_area": "Leeds",
        "employment_status": "employed", "employer": "Northfield", "class1_earnings_last_year_pence": 3_100_000,
        "class1_earnings_year_before_pence": 2_950_000}.items()])
    yield app, clock, employer, person
    app.store.close()


def reported(app, person, employer) -> list:
    facts = app.registry.store.facts_of([person], ["employment_status"]).get(person, [])
    return [f.value for f in facts if f.source == employer.id]


def report(app, employer, person, last_day: str):
    return app.intake.submit(employer, [{
        "specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": EMPLOYER,
        "id": f"n-{person}-{last_day}", "subject": person,
        "data": {"reason": "redundancy", "last_day": last_day, "age": 42, "class1_contribution_years": 2}}])


def test_a_last_day_ahead_starts_the_journey_but_the_award_waits_for_the_day(world):
    app, clock, employer, person = world
    report(app, employer, person, "2027-01-15")
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    assert j.steps["ended"].status.value == "waiting"
    assert j.steps["profile"].status.value == "pending" and j.steps["award"].status.value == "pending"
    assert reported(app, person, employer) == []  # not recorded as out of work before the day
    (early,) = app.messenger.of_person(person, reveal=True)
    assert early["template"] == "redundancy-ahead"
    assert "your job ends on 15 January 2027" in early["content"]["long"]
    assert "From 15 January 2027" in early["content"]["long"]

    clock.advance(timedelta(days=20))  # still before the day: nothing more happens
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    assert j.steps["ended"].status.value == "waiting"

    clock.advance(datetime(2027, 1, 15, 0, 0, 1, tzinfo=timezone.utc) - clock.now())  # the day: the timer fires
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    assert j.steps["ended"].status.value == "done" and j.steps["profile"].status.value == "done"
    assert reported(app, person, employer) == ["unemployed"]  # recorded on the day, as the employer's word
    assert "notice-of-assistance" in {m["template"] for m in app.messenger.of_person(person)}


def test_a_last_day_already_past_goes_straight_on_without_the_early_notice(world):
    app, _, employer, person = world
    report(app, employer, person, "2026-11-20")
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    assert j.steps["ended"].status.value == "done" and j.steps["ahead"].status.value == "skipped"
    assert "redundancy-ahead" not in {m["template"] for m in app.messenger.of_person(person)}


def test_a_last_day_past_the_horizon_is_refused_naming_the_field(world):
    app, _, employer, person = world
    (receipt,) = report(app, employer, person, "2027-06-30")
    assert receipt.status == "rejected"
    problem = receipt.problem.as_dict()
    assert problem["status"] == 422
    assert [e["pointer"] for e in problem["errors"]] == ["/data/last_day"]
    assert "more than 92 days ahead" in problem["detail"]
    assert app.store.journeys_for(person) == []
