"""The staff single view shows a person's awards and payments: amounts, days, status, the payment file
each went in, and only the last four digits of the account."""

from __future__ import annotations

from datetime import date

import pytest

from civicmoments.engine.steps import PLATFORM

from .staff import sign_in, start


def _seed(app) -> dict:
    person = app.registry.add_person()
    app.registry.record_many(PLATFORM, [(person, [
        {"attribute": k, "value": v, "basis": "register", "tier": "gold"}
        for k, v in {"given_name": "Mo", "date_of_birth": "1980-01-01", "bank_account": "20-00-00 55779911"}.items()])])
    app.payments.award(person, "jsa-new-style", "staff-view", start=date(2026, 11, 2))
    app.payments.run(date(2026, 11, 16))
    return {"person": person, "coach": app.cases.open("work-coach", person, "Call them").id}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    c = start(tmp_path_factory.mktemp("staff-payments"), seed=_seed)
    yield c
    c.stop()


def test_the_single_view_lists_awards_and_payments_with_their_file(console):
    coach = sign_in(console.url, "demo-work-coach")
    page = coach.get(f"/staff/people/{console.seeded['person']}")
    assert page.status_code == 200, page.text[-500:]
    assert "Awards and payments" in page.text and "jsa-new-style: active" in page.text
    assert "CIVIC-20261116-00001" in page.text and "ending 9911" in page.text and "£191.10" in page.text
    assert "55779911" not in page.text
