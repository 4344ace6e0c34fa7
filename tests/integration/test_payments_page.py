"""The portal's "Your payments": the award's rate, the next payment, payments made with the account's last
four digits only, a hold explained, and what to do if a payment is missing; in English and Welsh.
And the survey refuses bank details that fail the modulus check, with a GOV.UK error."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known
from .test_interview_booking import signed_in


@pytest.fixture
def world(sqlite_url, clock):
    app = make_app(sqlite_url, clock, settings={"demo_mode": True, "session_secret": "s" * 40})
    yield app, TestClient(create_app(app))
    app.store.close()


def test_your_payments_shows_the_rate_the_next_payment_and_what_was_paid(world):
    app, client = world
    abe = known(app, date_of_birth="1984-05-02", bank_account="20-00-00 55779911", given_name="Abe")
    app.payments.award(abe, "jsa-new-style", "page", start=date(2025, 12, 15))
    app.payments.run(date(2025, 12, 29))
    signed_in(app, client, abe)
    page = client.get("/payments")
    assert page.status_code == 200
    text = page.text
    assert "Your payments" in text and "New Style Jobseeker" in text
    assert "£92.05 a week" in text  # 2025/26, the rate in force on 5 January 2026
    assert "£184.10 on 12 January 2026" in text  # the next payment
    assert "29 December 2025" in text and "account ending 9911" in text
    assert "55779911" not in text and "If a payment is missing" in text
    client.get("/language", params={"to": "cy", "next": "/payments"})
    cy = client.get("/payments").text
    assert "Eich taliadau" in cy and "cyfrif sy&#39;n gorffen gyda 9911" in cy and "£92.05 yr wythnos" in cy


def test_an_award_waiting_for_bank_details_says_so_and_links_to_the_survey(world):
    app, client = world
    cal = known(app, date_of_birth="1984-05-02")
    app.payments.award(cal, "jsa-new-style", "page2", start=date(2026, 1, 5))
    signed_in(app, client, cal)
    text = client.get("/payments").text
    assert "We cannot pay you until you give us your bank details" in text and 'href="/survey"' in text


def test_the_survey_refuses_an_account_that_fails_the_modulus_check_and_never_records_it(world):
    from .test_interview_booking import csrf

    app, client = world
    cal = known(app, date_of_birth="1984-05-02")
    app.payments.award(cal, "jsa-new-style", "page3", start=date(2026, 1, 5))  # waiting for an account
    signed_in(app, client, cal)
    token = csrf(client.get("/survey").text)
    form = {"csrf_token": token, "aspirations": "welder", "travel_radius_miles": "10", "sort_code": "20-00-00",
            "account_number": "12345678", "last_day_of_work-day": "1", "last_day_of_work-month": "12",
            "last_day_of_work-year": "2025"}
    refused = client.post("/survey", data=form)
    assert refused.status_code == 400
    assert "govuk-error-summary" in refused.text and "do not match a UK bank account" in refused.text
    assert "bank_account" not in app.registry.profile(cal)
    check = client.post("/survey", data={**form, "account_number": "55779911"})  # "Check your answers"
    assert check.status_code == 200 and "Account ending 9911" in check.text, check.text[-400:]
    saved = client.post("/survey/confirm", data={"csrf_token": csrf(check.text), "sort_code": "200000",
                                                 "account_number": "55779911"})
    assert saved.status_code == 200, saved.text[-400:]
    assert app.registry.profile(cal, reveal=["bank_account"])["bank_account"].value == "20-00-00 55779911"
