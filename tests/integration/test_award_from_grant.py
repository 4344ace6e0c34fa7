"""A zero-touch grant of New Style JSA makes an award with its schedule, and the notice of assistance
says the first payment's amount, its day and the account's last four digits (en and cy)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from civicmoments.domain.clock import FakeClock

from ..conftest import make_app
from .test_future_dates import EMPLOYER, report

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)  # a Sunday


@pytest.fixture
def world(db_url):
    app = make_app(db_url, FakeClock(NOW))
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    employer, _ = app.organisations.add("Northfield", [EMPLOYER.rsplit("/", 1)[0] + "/*"], ["uk.gov.dwp.employment.*"])

    def person(**more):
        pid = app.registry.add_person()
        app.registry.record(hmrc, pid, [{"attribute": k, "value": v} for k, v in {
            "given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1984-05-02", "home_area": "Leeds",
            "employment_status": "unemployed", "employer": "Northfield", "class1_earnings_last_year_pence": 3_100_000,
            "class1_earnings_year_before_pence": 2_950_000, **more}.items()])
        return pid

    yield app, employer, person
    app.store.close()


def notice(app, person) -> dict:
    return next(m for m in app.messenger.of_person(person, reveal=True) if m["template"] == "notice-of-assistance")


def test_the_grant_makes_an_award_and_the_notice_names_the_first_payment_and_the_account(world):
    app, employer, person = world
    abe = person(bank_account="20-00-00 55779911")
    report(app, employer, abe, "2026-11-27")
    app.worker.drain()
    (award,) = app.payments.store.awards_of(abe)
    assert (award["service"], award["start_on"], award["end_on"]) == ("jsa-new-style", date(2026, 11, 29),
                                                                      date(2027, 5, 29))
    assert award["schedule_stops"] == "rates" and award["scheduled_to"] == date(2027, 4, 3)
    first = app.payments.store.payments_of(person=abe)[0]
    assert (first["amount"], first["due_on"], first["pay_on"]) == (19110, date(2026, 12, 13), date(2026, 12, 11))
    text = notice(app, abe)["content"]["long"]
    assert "Your first payment of £191.10 will be paid on 11 December 2026 into your account ending 9911" in text
    assert "55779911" not in text
    (j,) = app.store.journeys_for(abe)
    assert j.steps["payment"].result["payments"]["award"] == award["id"]


def test_with_no_account_the_award_is_held_and_the_notice_asks_for_bank_details(world):
    app, employer, person = world
    abe = person()
    report(app, employer, abe, "2026-11-27")
    app.worker.drain()
    (award,) = app.payments.store.awards_of(abe)
    assert award["hold"] == "no-account"
    text = notice(app, abe)["content"]["long"]
    assert "Your first payment of £191.10 is due on 11 December 2026. Give us your bank details" in text
    assert app.payments.run(date(2026, 12, 11))["payments"] == 0  # held, never sent without an account


def test_bank_details_given_in_the_survey_after_the_award_release_the_hold_and_the_next_run_pays(world):
    """The notice asks a person with no account held for their bank details; the survey is where they give
    them. Once given, the held first payment goes in the next run, with nothing paid twice."""
    app, employer, person = world
    abe = person()
    report(app, employer, abe, "2026-11-27")
    app.worker.drain()
    assert app.payments.run(date(2026, 12, 11))["payments"] == 0  # no account yet: held
    app.questions.answer(abe, {"bank_account": "20-00-00 55779911"})
    (award,) = app.payments.store.awards_of(abe)
    assert award["hold"] is None
    run = app.payments.run(date(2026, 12, 14))
    assert (run["payments"], run["total"]) == (1, 19110)
    assert app.payments.run(date(2026, 12, 15))["payments"] == 0
