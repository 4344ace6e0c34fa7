"""Tell us once over HTTP: a registered death ends the person's journeys and cancels their
messages at once, holds any benefit stop for a decision maker, and the surviving partner is
offered Bereavement Support Payment in plain words; nothing goes to the person who died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known

DEATH, MOVE = "uk.gov.gro.death-registered", "civic.person.address-changed"
CE = {"Content-Type": "application/cloudevents+json"}
REGISTRAR = "Leeds Register Office"


@pytest.fixture
def world(db_url, clock):
    app = make_app(db_url, clock)
    tokens = {}
    for name, source, scopes in [(REGISTRAR, "https://gro.example/*", ["uk.gov.gro.*", "registrar"]),
                                 ("Portal", "civic://portal", ["civic.*"])]:
        _, token = app.organisations.add(name, [source], scopes)
        tokens[name] = {"Authorization": f"Bearer {token}", **CE}
    bob = known(app, tier="gold", given_name="Bob", family_name="Brown", date_of_birth="1984-06-01",
                email="bob@example.org", class1_contribution_years=2, jsa_claimant=True)
    cath = known(app, tier="gold", given_name="Cath", family_name="Brown", date_of_birth="1986-09-01",
                 email="cath@example.org")
    kid = known(app, tier="gold", given_name="Dot", family_name="Brown", date_of_birth="2018-04-01")
    home = app.registry.join_household(None, bob, "partner")
    app.registry.join_household(home, cath, "partner")
    app.registry.join_household(home, kid, "child")
    yield TestClient(create_app(app)), app, tokens, bob, cath
    app.store.close()


def death(person: str, ident: str = "D-1", died: str = "2026-01-02") -> dict:
    return {"specversion": "1.0", "type": DEATH, "source": "https://gro.example/deaths", "id": ident,
            "subject": person, "data": {"registration": f"GRO-{ident}", "date_of_death": died}}


def messages(app, person) -> dict[str, dict]:
    return {m["template"]: m for m in app.messenger.of_person(person, reveal=True)}


def test_a_death_ends_journeys_cancels_messages_and_tells_the_partner_in_plain_words(world):
    client, app, tokens, bob, cath = world
    app.store.publish("civic.milestone.reached", bob, {"milestone": "register_to_vote_from_date",
                                                       "date": "2026-01-05"}, app.clock.now())
    app.worker.drain()
    (vote,) = app.store.journeys_for(bob)
    assert vote.status.value == "active"
    assert [m["status"] for m in app.messenger.of_person(bob)] == ["sending"]
    r = client.post("/v1/events", json=death(bob), headers=tokens[REGISTRAR])
    assert r.status_code == 202 and r.json()["status"] == "accepted", r.text
    app.worker.drain()
    journeys = {j.moment: j for j in app.store.journeys_for(bob, limit=10)}
    assert journeys["register-to-vote"].status.value == "cancelled"
    assert [m["status"] for m in app.messenger.of_person(bob)] == ["cancelled"]  # in the death's transaction
    assert set(messages(app, bob)) <= {"register-to-vote"}  # nothing new to the person who died
    assert app.registry.profile(bob)["date_of_death"].value == "2026-01-02"
    letter = messages(app, cath)["bereavement-support"]["content"]
    assert "sorry for your loss" in letter["long"] and "Sam Patel" in letter["long"]
    assert "£3,500" in letter["long"] and "£350 a month for 18 months" in letter["long"]  # a child at home
    assert "Sam Patel" in messages(app, cath)["bereavement-support"]["content"]["short"]


def test_a_benefit_stop_after_a_death_is_held_for_a_decision_maker(world):
    client, app, tokens, bob, _ = world
    client.post("/v1/events", json=death(bob), headers=tokens[REGISTRAR])
    app.worker.drain()
    (case,) = app.cases.list(queue="decision-review", person=bob)
    assert case.priority == "high" and "date of death" in case.reason
    assert app.registry.profile(bob)["jsa_claimant"].value is True  # nothing stops until a person confirms


def test_a_second_registration_of_the_same_death_is_a_duplicate_naming_the_first(world):
    client, app, tokens, bob, cath = world
    client.post("/v1/events", json=death(bob), headers=tokens[REGISTRAR])
    again = client.post("/v1/events", json=death(bob, "D-2"), headers=tokens[REGISTRAR])
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert again.json()["first"] == "GRO-D-1"
    app.worker.drain()
    assert len([j for j in app.store.journeys_for(cath, limit=10) if j.moment == "bereavement"]) == 1


def test_a_death_for_an_unknown_person_waits_in_a_verification_case(world):
    client, app, tokens, _, _ = world
    r = client.post("/v1/events", json=death("AB123456C"), headers=tokens[REGISTRAR])
    assert r.status_code == 202 and r.json()["status"] == "held", r.text
    (case,) = app.cases.list(queue="verification")
    assert case.data["rule"] == "unknown-subject"
    app.worker.drain()
    assert app.store.counts()["events"] == {}


def test_a_move_for_a_person_who_has_died_is_refused(world):
    client, app, tokens, bob, _ = world
    client.post("/v1/events", json=death(bob), headers=tokens[REGISTRAR])
    move = {"specversion": "1.0", "type": MOVE, "source": "civic://portal", "id": "M-1", "subject": bob,
            "data": {"address_line_1": "1 New Street", "town": "Leeds", "postcode": "LS1 4AP",
                     "moved_on": "2026-01-04"}}
    r = client.post("/v1/events", json=move, headers=tokens["Portal"])
    assert r.status_code == 409 and r.json()["type"].endswith("/person-has-died"), r.text


def test_a_confirmed_stop_ends_the_benefit_from_the_date_of_death(world):
    client, app, tokens, bob, _ = world
    app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
    dara = {"Authorization": f"Bearer {app.officers.token('Dara Maker')}"}
    app.clock.advance(timedelta(days=2))  # Bob has had his benefit since the 5th; he died on the 6th
    client.post("/v1/events", json=death(bob, died="2026-01-06"), headers=tokens[REGISTRAR])
    app.worker.drain()
    (case,) = app.cases.list(queue="decision-review", person=bob)
    r = client.post(f"/v1/cases/{case.id}/resolve", headers=dara,
                    json={"outcome": "upheld", "reason": "death registered", "version": case.version})
    assert r.status_code == 200, r.text
    app.worker.drain()
    fact = app.registry.profile(bob)["jsa_claimant"]
    assert fact.value is False and fact.valid_from.date().isoformat() == "2026-01-06"
    assert set(messages(app, bob)) == set()  # told to no one who has died
