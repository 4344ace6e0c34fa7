"""Consent you can act on: each purpose shows its real state under its model, an objection
(or a refusal recorded by staff) cancels what was queued for that purpose exactly as a
withdrawal does, a notice-only purpose answers an objection with 409 and why, the receipt's
"how to withdraw" is a portal link, and withdrawing employment-history stops the employer's
history from being used."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.engine.ports import Effect

TEMPLATE_FOR = {"fare-concession": "transit-entitlement"}


def setup(app):
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    _, token = app.organisations.add("Portal", ["civic://portal"], ["civic.*", "consents:read", "consents:write"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "given_name", "value": "Abe"},
                                       {"attribute": "family_name", "value": "Ashworth"}])
    return person, {"Authorization": f"Bearer {token}"}


def queue_message(app, person, template: str, key: str):
    effect = Effect(key=key, journey="j", person=person, step="travel", kind="notify",
                    payload={"spec": {"template": template}, "personalisation": {"values": {}}},
                    max_attempts=1, backoff_seconds=1, id=1, attempts=1)
    assert app.messenger.perform([effect])[0].verdict.value == "done"


def test_each_purpose_shows_its_real_state_and_an_objection_works_like_a_withdrawal(app):
    person, h = setup(app)
    with TestClient(create_app(app)) as api:
        states = {s["purpose"]: s for s in api.get(f"/v1/people/{person}/consent-states", headers=h).json()}
        assert (states["fare-concession"]["state"], states["fare-concession"]["actions"]) == ("shared", ["object"])
        assert (states["employment-support"]["state"], states["employment-support"]["actions"]) == \
            ("not-given", ["give"])
        assert states["benefit-assessment"]["actions"] == [] and "no choice" in states["benefit-assessment"]["why"]
        assert states["fraud-prevention"]["state"] == "legal-obligation"

        queue_message(app, person, "transit-entitlement", "k1")  # a message waiting for this purpose
        r = api.put(f"/v1/people/{person}/objections/fare-concession", headers=h)
        assert r.status_code == 201, r.text
        assert r.json()["how_to_withdraw"].endswith("/consents")  # a portal link, not a command
        (m,) = app.messenger.of_person(person)
        assert m["status"] == "cancelled"  # exactly as a withdrawal cancels it
        assert "fare-concession refused" in m["history"][-1]["detail"]
        states = {s["purpose"]: s for s in api.get(f"/v1/people/{person}/consent-states", headers=h).json()}
        assert (states["fare-concession"]["state"], states["fare-concession"]["actions"]) == ("objected", ["undo"])
        assert api.delete(f"/v1/people/{person}/objections/fare-concession", headers=h).status_code == 200
        assert api.delete(f"/v1/people/{person}/objections/fare-concession", headers=h).status_code == 409

        r = api.put(f"/v1/people/{person}/objections/benefit-assessment", headers=h)
        assert r.status_code == 409
        assert r.json()["type"].endswith("/no-choice-for-purpose") and "no choice" in r.json()["detail"]


def test_a_refusal_recorded_by_staff_cancels_queued_messages_too(app):
    person, _ = setup(app)
    queue_message(app, person, "transit-entitlement", "k2")
    app.consents.refuse(person, "fare-concession", channel="phone")  # a member of staff, on the phone
    (m,) = app.messenger.of_person(person)
    assert m["status"] == "cancelled"


def test_withdrawing_employment_history_stops_the_employers_history_being_used(app):
    person, _ = setup(app)
    employer, _ = app.organisations.add("Northfield", ["https://northfield.example/*"], ["facts:employment"])
    app.registry.record(employer, person, [{"attribute": "employer", "value": "Northfield Manufacturing"}])
    app.consents.give(person, "employment-history", channel="employer")
    steps = app.effects.providers["grant"]  # the registry steps (record wraps them to confirm outcomes)
    assert steps.careers([person])[person]["employment_history"][0]["employer"] == "Northfield Manufacturing"
    app.consents.withdraw(person, "employment-history", channel="portal")
    career = steps.careers([person])[person]
    assert career["employment_history"] == [] and "employer" not in career["known"]
