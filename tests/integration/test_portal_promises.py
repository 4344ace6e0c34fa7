"""Promises on the portal are kept: the travel page registers a card with consent, a stopped
benefit shows as stopped with its date, and consents show their real state under their model."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from .test_interview_booking import signed_in

SECRET = "portal-test-secret-" + "x" * 20
EMPLOYER = "https://northfield.example/hr"


@pytest.fixture
def portal(db_url, clock):
    app = make_app(db_url, clock, settings={"session_secret": SECRET, "demo_mode": True})
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    employer, _ = app.organisations.add("Northfield", ["https://northfield.example/*"], ["uk.gov.dwp.employment.*"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in {
        "given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1984-05-02", "home_area": "Leeds",
        "employment_status": "unemployed", "employer": "Northfield", "class1_earnings_last_year_pence": 3_100_000,
        "class1_earnings_year_before_pence": 2_950_000}.items()])
    with TestClient(create_app(app)) as client:
        signed_in(app, client, person)  # a server-side session, as the sign-in would make
        yield app, client, person, employer
    app.store.close()


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_travel_page_registers_a_card_with_consent(portal):
    app, client, person, _ = portal
    page = client.get("/travel")
    assert page.status_code == 200 and "Register your travel card" in page.text
    bad = client.post("/travel", data={"csrf_token": csrf(page.text), "card": "METRO-CARD-0042"})
    assert bad.status_code == 400 and "govuk-error-summary" in bad.text
    assert "Tick the box to agree" in bad.text and 'value="METRO-CARD-0042"' in bad.text  # nothing lost
    bad = client.post("/travel", data={"csrf_token": csrf(page.text), "card": "x!", "agree": "yes"})
    assert bad.status_code == 400 and "Enter your travel card number" in bad.text
    done = client.post("/travel", data={"csrf_token": csrf(page.text), "card": "METRO-CARD-0042", "agree": "yes"})
    assert done.status_code == 200 and "Your card is registered" in done.text
    metro, _ = app.organisations.add("Metro", ["https://metro.example/*"], ["transit:check"])
    app.agreements.put("metro", "Metro", "fare-concession", [], "identified", 1, ["active-jobseeker"])
    app.registry.record(None, person, [])  # nothing new: the card alone answers at the gate
    receipts = app.consents.receipts(person)
    assert (receipts[-1]["purpose"]["id"], receipts[-1]["collection_method"]) == ("fare-concession", "portal")


def test_a_stopped_benefit_shows_as_stopped_with_its_date(portal):
    app, client, person, employer = portal
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": EMPLOYER, "id": "n1", "subject": person,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 42}}])
    app.worker.drain()
    plan = client.get("/plan").text
    assert "New Style Jobseeker&#39;s Allowance: £92.05 a week" in plan
    app.clock.advance(timedelta(days=30))  # a month later, a new job
    client.cookies.clear()
    signed_in(app, client, person)  # the morning's session has long ended: Abe signs in again
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-started",
                                  "source": EMPLOYER, "id": "s1", "subject": person,
                                  "data": {"start_date": "2026-02-01"}}])
    app.worker.drain()
    assert "£92.05 a week" in client.get("/plan").text  # stopping it goes against Abe: it waits for a person
    dm = app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
    (case,) = app.cases.list(queue="decision-review", person=person)
    app.cases.resolve(case.id, dm, "upheld", "Abe started work on 1 February", case.version)
    app.worker.drain()
    stopped = "stopped on 1 February 2026"  # from the day the new job started
    plan = client.get("/plan").text
    assert stopped in plan and "£92.05 a week" not in plan
    assert stopped in client.get("/").text


def test_consents_show_their_real_state_and_offer_the_right_choice(portal):
    app, client, person, _ = portal
    page = client.get("/consents").text
    assert re.search(r'value="object"[^>]*>Object', page)  # opt-out: object, not "give"
    assert "Shared unless you object" in page
    assert "There is no choice to make here" in page  # notice-only and legal obligation say why
    r = client.post("/consents", data={"csrf_token": csrf(page), "purpose": "benefit-assessment",
                                       "action": "object"})
    assert r.status_code == 409 and "That choice is not available" in r.text
    r = client.post("/consents", data={"csrf_token": csrf(page), "purpose": "fare-concession", "action": "object"},
                    follow_redirects=True)
    assert "You objected" in r.text and "Undo my objection" in r.text
