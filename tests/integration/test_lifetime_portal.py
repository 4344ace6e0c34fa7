"""The lifetime pages, signed in: an offer accepted with one click is the claim, declining stops
the reminders, and moving home shows who will be told, lets the person leave any out, names a
broken postcode rule, and afterwards shows who was told. In English and Welsh."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known

REGISTRAR = "Leeds Register Office"


@pytest.fixture
def world(sqlite_url, clock):
    app = make_app(sqlite_url, clock, settings={"demo_mode": True, "session_secret": "s" * 40})
    _, token = app.organisations.add(REGISTRAR, ["https://gro.example/*"], ["uk.gov.gro.*", "registrar"])
    ana = known(app, tier="gold", given_name="Ana", family_name="Ashworth", date_of_birth="1990-02-01",
                annual_earnings_pence=3_000_000, email="ana@example.org", address_line_1="1 Old Lane", town="Leeds",
                postcode="LS1 1AA")
    with TestClient(create_app(app)) as client:
        yield app, client, ana, {"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents+json"}
    app.store.close()


def sign_in(app, client: TestClient, person: str) -> None:
    token = secrets.token_urlsafe(32)
    now = app.clock.now()
    app.sessions.save(hashlib.sha256(token.encode()).hexdigest(), {"person": person}, now, now + timedelta(hours=1))
    client.cookies.set("civic_session", token)


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def born(client, headers, ana) -> None:
    r = client.post("/v1/events", headers=headers, json={
        "specversion": "1.0", "type": "uk.gov.gro.birth-registered", "source": "https://gro.example/b", "id": "B-1",
        "subject": ana, "data": {"registration": "GRO-1", "date_of_birth": "2025-12-20", "given_name": "Poppy",
                                 "family_name": "Ashworth"}})
    assert r.status_code == 202, r.text


def test_the_child_benefit_offer_is_accepted_with_one_click(world):
    app, client, ana, registrar = world
    born(client, registrar, ana)
    app.worker.drain()
    sign_in(app, client, ana)
    page = client.get("/lifetime/child-benefit")
    assert page.status_code == 200 and "Child Benefit" in page.text and "Accept" in page.text
    r = client.post("/lifetime/answer", data={"csrf_token": csrf(page.text), "service": "child-benefit",
                                              "answer": "accepted"}, follow_redirects=True)
    assert r.status_code == 200 and "Your claim is made" in r.text
    app.worker.drain()
    assert app.registry.profile(ana)["child_benefit_claimant"].value is True
    assert "There is nothing waiting for your answer" in client.get("/lifetime").text


def test_an_offer_that_is_not_waiting_cannot_be_answered(world):
    app, client, ana, _ = world
    sign_in(app, client, ana)
    page = client.get("/lifetime")
    r = client.post("/lifetime/answer", data={"csrf_token": csrf(page.text), "service": "child-benefit",
                                              "answer": "accepted"})
    assert r.status_code == 400 and "govuk-error-summary" in r.text


def test_moving_home_shows_who_will_be_told_and_leaves_out_who_the_person_unticks(world):
    app, client, ana, _ = world
    app.clock.advance(timedelta(days=1))  # Ana has lived at her old address since yesterday
    sign_in(app, client, ana)
    page = client.get("/lifetime/move")
    assert all(x in page.text for x in ("Your council", "electoral registration", "DVLA", "NHS"))
    r = client.post("/lifetime/move", data={
        "csrf_token": csrf(page.text), "address_line_1": "4 Hyde Park Road", "town": "Leeds", "postcode": "ls6 2ab",
        "moved-day": "6", "moved-month": "1", "moved-year": "2026", "tell": ["council-tax", "electoral-register"]})
    assert r.status_code == 200 and "We are telling them" in r.text
    app.worker.drain()
    (j,) = [j for j in app.store.journeys_for(ana) if j.moment == "moving-home"]
    assert j.trigger["data"]["leave_out"] == ["driving-licence", "gp"]
    assert app.registry.profile(ana)["postcode"].value == "LS6 2AB"
    after = client.get("/lifetime/move").text
    assert "Who we told about your last move" in after and "Not told" in after


def test_a_bad_postcode_is_named_in_the_error_summary_and_what_was_typed_is_kept(world):
    app, client, ana, _ = world
    sign_in(app, client, ana)
    page = client.get("/lifetime/move")
    r = client.post("/lifetime/move", data={
        "csrf_token": csrf(page.text), "address_line_1": "4 Hyde Park Road", "town": "Leeds", "postcode": "LS6 2A",
        "moved-day": "6", "moved-month": "1", "moved-year": "2026", "tell": ["council-tax"]})
    assert r.status_code == 400 and "govuk-error-summary" in r.text
    assert 'href="#postcode"' in r.text and "Enter a real postcode" in r.text and 'value="LS6 2A"' in r.text
    app.worker.drain()
    assert app.store.journeys_for(ana) == []


def test_the_lifetime_pages_are_in_welsh(world):
    app, client, ana, _ = world
    sign_in(app, client, ana)
    client.get("/language?to=cy&next=/lifetime", follow_redirects=False)
    assert "Cynigion i chi" in client.get("/lifetime").text
    assert "Pwy fyddwn yn dweud wrthynt" in client.get("/lifetime/move").text
