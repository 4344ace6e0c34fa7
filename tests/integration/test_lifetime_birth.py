"""A birth registered over HTTP: the child joins the household, Child Benefit is decided and
offered, one click claims it, and only a registrar may report it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known

BIRTH = "uk.gov.gro.birth-registered"
CE = {"Content-Type": "application/cloudevents+json"}
REGISTRAR = "Leeds Register Office"


@pytest.fixture
def world(db_url, clock):
    app = make_app(db_url, clock)
    tokens = {}
    for name, source, scopes in [(REGISTRAR, "https://gro.example/*", ["uk.gov.gro.*", "registrar"]),
                                 ("Northfield", "https://northfield.example/*", ["uk.gov.gro.*"]),
                                 ("Portal", "civic://portal", ["civic.*"])]:
        _, token = app.organisations.add(name, [source], scopes)
        tokens[name] = {"Authorization": f"Bearer {token}", **CE}
    yield TestClient(create_app(app)), app, tokens
    app.store.close()


def birth(parent: str, ident: str = "B-1", born: str = "2025-12-20", source: str = "https://gro.example/births",
          **extra) -> dict:
    return {"specversion": "1.0", "type": BIRTH, "source": source, "id": ident, "subject": parent,
            "data": {"registration": f"GRO-{ident}", "date_of_birth": born, "given_name": "Poppy",
                     "family_name": "Ashworth", "sex": "female", **extra}}


def messages(app, person) -> dict[str, dict]:
    return {m["template"]: m for m in app.messenger.of_person(person, reveal=True)}


def parent(app, **facts) -> str:
    values = {"given_name": "Ana", "family_name": "Ashworth", "date_of_birth": "1990-02-01",
              "annual_earnings_pence": 3_000_000, "email": "ana@example.org", **facts}
    return known(app, tier="gold", **values)


def test_a_registered_birth_adds_the_child_and_offers_child_benefit_with_the_vaccinations(world):
    client, app, tokens = world
    ana = parent(app)
    r = client.post("/v1/events", json=birth(ana), headers=tokens[REGISTRAR])
    assert r.status_code == 202 and r.json()["status"] == "accepted", r.text
    app.worker.drain()
    members = {m["person_id"]: m["role"] for m in app.registry.store.households_of(ana)}
    (child,) = [p for p, role in members.items() if role == "child"]
    assert members[ana] == "parent"
    facts = app.registry.profile(child)
    assert (facts["given_name"].value, facts["date_of_birth"].value, facts["date_of_birth"].tier.value) == \
        ("Poppy", "2025-12-20", "gold")
    offer = messages(app, ana)["child-benefit-offer"]["content"]
    assert "£26.05 a week" in offer["long"]  # 2025/26, eldest or only child (the clock is 5 January 2026)
    assert "Accepting it is your claim" in offer["long"] and "High Income" not in offer["long"]
    assert "8 weeks (14 February 2026)" in offer["long"] and "18 months (20 June 2027)" in offer["long"]
    assert messages(app, child) == {}  # nothing goes to a baby
    (j,) = [j for j in app.store.journeys_for(ana) if j.moment == "birth"]
    assert j.steps["claim"].status.value == "waiting"
    assert "child_benefit_claimant" not in app.registry.profile(ana)  # no claim yet: the law needs one


def test_accepting_the_offer_with_one_click_is_the_claim(world):
    client, app, tokens = world
    ana = parent(app)
    client.post("/v1/events", json=birth(ana), headers=tokens[REGISTRAR])
    app.worker.drain()
    app.store.publish("civic.offer.answered", ana, {"service": "child-benefit", "answer": "accepted"}, app.clock.now())
    app.worker.drain()
    assert app.registry.profile(ana)["child_benefit_claimant"].value is True
    (j,) = [j for j in app.store.journeys_for(ana, limit=10) if j.moment == "birth"]
    assert j.status.value == "completed" and j.steps["award"].status.value == "done"


def test_a_second_child_is_paid_at_the_other_child_rate_and_high_income_is_explained(world):
    client, app, tokens = world
    ana = parent(app, annual_earnings_pence=7_500_000)
    older = known(app, tier="gold", date_of_birth="2021-03-01")
    household = app.registry.join_household(None, ana, "parent")
    app.registry.join_household(household, older, "child")
    client.post("/v1/events", json=birth(ana), headers=tokens[REGISTRAR])
    app.worker.drain()
    offer = messages(app, ana)["child-benefit-offer"]["content"]
    assert "£43.30 a week" in offer["long"]  # £26.05 + £17.25
    assert "High Income Child Benefit Charge" in offer["long"] and "Do not pay me" in offer["long"]
    assert len(app.registry.store.households_of(ana)) == 3


def test_missing_facts_are_asked_for_instead_of_an_offer(world):
    client, app, tokens = world
    ana = known(app, tier="silver", given_name="Ana", family_name="Ashworth", date_of_birth="1990-02-01",
                annual_earnings_pence=3_000_000, email="ana@example.org")
    client.post("/v1/events", json=birth(ana), headers=tokens[REGISTRAR])
    app.worker.drain()
    assert "child-benefit-offer" not in messages(app, ana)
    (j,) = [j for j in app.store.journeys_for(ana) if j.moment == "birth"]
    assert j.steps["offer"].status.value == "skipped" and j.steps["missing"].status.value in ("waiting", "done")


def test_a_birth_from_an_organisation_that_is_not_a_registrar_is_refused(world):
    client, app, tokens = world
    ana = parent(app)
    r = client.post("/v1/events", json=birth(ana, source="https://northfield.example/x"), headers=tokens["Northfield"])
    assert r.status_code == 403 and r.json()["type"].endswith("/sender-not-authorised"), r.text
    assert "registration service" in r.json()["detail"]
    app.worker.drain()
    assert app.registry.store.households_of(ana) == [] and app.store.journeys_for(ana) == []


def test_a_birth_date_in_the_future_is_refused_naming_the_field(world):
    client, app, tokens = world
    ana = parent(app)
    r = client.post("/v1/events", json=birth(ana, born="2026-02-01"), headers=tokens[REGISTRAR])
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["/data/date_of_birth"]
    assert app.registry.store.households_of(ana) == []


def test_a_resent_birth_adds_no_second_child(world):
    client, app, tokens = world
    ana = parent(app)
    for _ in range(2):
        client.post("/v1/events", json=birth(ana), headers=tokens[REGISTRAR])
    app.worker.drain()
    assert [m["role"] for m in app.registry.store.households_of(ana)].count("child") == 1
