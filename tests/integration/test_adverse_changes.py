"""A new job that would end a benefit is an adverse change: the person is told, a decision maker
confirms it, and only then does New Style JSA (and with it free travel) stop, from the reported date."""

from __future__ import annotations

import hashlib
import html
import re
import secrets
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known

STARTED, ENDED = "uk.gov.dwp.employment.job-started", "uk.gov.dwp.employment.job-ended"
NORTHFIELD = "Northfield Manufacturing"
CARD = "METRO-CARD-0042"


@pytest.fixture
def world(db_url, clock):
    yield from _world(db_url, clock)


@pytest.fixture
def portal_world(db_url, clock):
    """The same, with the portal (its demo sign-in) for the person's own pages."""
    yield from _world(db_url, clock, {"demo_mode": True, "session_secret": "s" * 40})


def _world(db_url, clock, settings=None):
    app = make_app(db_url, clock, settings=settings)
    tokens = {}
    for name, source, scopes in [(NORTHFIELD, "https://northfield.example/*", ["uk.gov.dwp.employment.*"]),
                                 ("Metro Transit", "https://metro.example/*", ["transit:check"])]:
        _, token = app.organisations.add(name, [source], scopes)
        tokens[name] = {"Authorization": f"Bearer {token}"}
    app.agreements.put("metro-fares", "Metro Transit", "fare-concession", [], "identified", 1, ["active-jobseeker"])
    app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
    tokens["Dara"] = {"Authorization": f"Bearer {app.officers.token('Dara Maker')}"}
    app.officers.add("Deri Second", "sub-deri", "employment-department", ["decision-maker"])
    tokens["Deri"] = {"Authorization": f"Bearer {app.officers.token('Deri Second')}"}
    abe = known(app, employer=NORTHFIELD, tier="gold", given_name="Abe", family_name="Ashworth",
                employment_status="unemployed", jsa_claimant=True)
    app.transit.register(abe, CARD)
    yield TestClient(create_app(app)), app, tokens, abe
    app.store.close()


def new_job(client, tokens, abe, ident="S-1", day="2026-12-01"):
    r = client.post("/v1/events", headers={**tokens[NORTHFIELD], "Content-Type": "application/cloudevents+json"},
                    json={"specversion": "1.0", "type": STARTED, "source": "https://northfield.example/hr",
                          "id": ident, "subject": abe, "data": {"start_date": day}})
    assert r.status_code == 202, r.text


def active_jobseeker(client, tokens) -> bool:
    r = client.post("/v1/transit/checks", json={"token": CARD}, headers=tokens["Metro Transit"])
    assert r.status_code == 200, r.text
    return r.json()["active_jobseeker"]


def messages(app, person) -> dict[str, dict]:
    return {m["template"]: m for m in app.messenger.of_person(person, reveal=True)}


def resolve(client, tokens, case, outcome, reason, by="Dara"):
    r = client.post(f"/v1/cases/{case.id}/resolve", headers=tokens[by],
                    json={"outcome": outcome, "reason": reason, "version": case.version})
    assert r.status_code == 200, r.text


def test_a_new_job_opens_a_review_tells_the_person_and_stops_nothing_yet(world):
    client, app, tokens, abe = world
    new_job(client, tokens, abe)
    app.worker.drain()
    (case,) = app.cases.list(queue="decision-review", person=abe)
    assert (case.step, case.priority, case.status.value) == ("review", "high", "open")
    notice = messages(app, abe)["benefit-stop-notice"]["content"]
    assert "1 December 2026" in notice["long"] and "Nothing changes yet" in notice["long"]
    assert "/decisions" in notice["long"] and "started work" in notice["long"]
    assert app.registry.profile(abe)["jsa_claimant"].value is True
    assert active_jobseeker(client, tokens) is True
    (j,) = app.store.journeys_for(abe)
    assert j.steps["review"].status.value == "waiting" and j.steps["stop-benefit"].status.value == "pending"


def test_an_upheld_review_stops_the_benefit_from_the_start_date_and_tells_the_person(world):
    client, app, tokens, abe = world
    new_job(client, tokens, abe)
    app.worker.drain()
    (case,) = app.cases.list(queue="decision-review", person=abe)
    resolve(client, tokens, case, "upheld", "payroll shows the new job from 1 December")
    app.worker.drain()
    fact = app.registry.profile(abe)["jsa_claimant"]
    assert fact.value is False and fact.valid_from.date().isoformat() == "2026-12-01"
    assert active_jobseeker(client, tokens) is False
    decision = messages(app, abe)["benefit-stop-decision"]["content"]
    assert "has stopped" in decision["subject"] and "payroll shows the new job" in decision["long"]
    (j,) = app.store.journeys_for(abe)
    assert j.status.value == "completed" and j.steps["stop-benefit"].status.value == "done"


def test_an_overturned_review_stops_nothing_and_tells_the_person(world):
    client, app, tokens, abe = world
    new_job(client, tokens, abe)
    app.worker.drain()
    (case,) = app.cases.list(queue="decision-review", person=abe)
    resolve(client, tokens, case, "overturned", "the report named the wrong person")
    app.worker.drain()
    assert app.registry.profile(abe)["jsa_claimant"].value is True
    assert active_jobseeker(client, tokens) is True
    decision = messages(app, abe)["benefit-stop-decision"]["content"]
    assert "carries on" in decision["subject"] and "wrong person" in decision["long"]
    (j,) = app.store.journeys_for(abe)
    assert j.steps["stop-benefit"].status.value == "skipped"


def test_someone_without_a_benefit_is_simply_recorded_in_work_and_their_outcome_counts(world):
    client, app, tokens, _ = world
    cy = known(app, employer=NORTHFIELD, class1_earnings_last_year_pence=0, class1_earnings_year_before_pence=0)
    r = client.post("/v1/events", headers={**tokens[NORTHFIELD], "Content-Type": "application/cloudevents+json"},
                    json={"specversion": "1.0", "type": ENDED, "source": "https://northfield.example/hr", "id": "N-2",
                          "subject": cy, "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 30}})
    assert r.status_code == 202, r.text
    app.worker.drain()
    new_job(client, tokens, cy, "S-2")
    app.worker.drain()
    assert {c.journey for c in app.cases.list(person=cy)} == {loss.id for loss in app.store.journeys_for(cy)
                                                               if loss.moment == "job-loss"}  # none from the new job
    assert "benefit-stop-notice" not in messages(app, cy)
    assert app.registry.profile(cy)["employment_status"].value == "employed"
    (loss,) = [j for j in app.store.journeys_for(cy) if j.moment == "job-loss"]
    assert app.store.journey(loss.id)["journey"].outcome["confirmed"]["step"] == "employed"


def test_the_job_loss_outcome_counts_only_once_the_change_is_confirmed(world):
    client, app, tokens, abe = world
    r = client.post("/v1/events", headers={**tokens[NORTHFIELD], "Content-Type": "application/cloudevents+json"},
                    json={"specversion": "1.0", "type": ENDED, "source": "https://northfield.example/hr", "id": "N-1",
                          "subject": abe, "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 30}})
    assert r.status_code == 202, r.text
    app.worker.drain()
    new_job(client, tokens, abe)
    app.worker.drain()
    (loss,) = [j for j in app.store.journeys_for(abe) if j.moment == "job-loss"]
    assert loss.status.value == "completed" and "confirmed" not in loss.outcome
    (case,) = app.cases.list(queue="decision-review", person=abe, status="open")
    resolve(client, tokens, case, "upheld", "confirmed with payroll")
    app.worker.drain()
    found = app.store.journey(loss.id)
    assert found["journey"].outcome["confirmed"]["case"] == case.id
    assert found["journey"].outcome["confirmed"]["outcome"] == "upheld"
    assert [t["kind"] for t in found["timeline"]][-1] == "outcome-confirmed"


def signed_in(app, client, person) -> TestClient:
    """``client`` with a server-side portal session for ``person`` (as the portal's sign-in leaves it)."""
    token, now = secrets.token_urlsafe(32), app.clock.now()
    app.sessions.save(hashlib.sha256(token.encode()).hexdigest(), {"person": person, "csrf": secrets.token_urlsafe(24)},
                      now, now + timedelta(hours=1))
    client.cookies.set("civic_session", token)
    return client


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_a_kept_stop_is_on_your_decisions_with_its_reason_and_asking_again_opens_a_reconsideration(portal_world, lang):
    """The stop message sends the person to "Your decisions": the stop is there with the decision maker's
    reason and the link to ask again, and asking opens the mandatory reconsideration the page promises;
    overturned, the benefit carries on from the day it stopped."""
    client, app, tokens, abe = portal_world
    new_job(client, tokens, abe)
    app.worker.drain()
    person = signed_in(app, client, abe)
    if lang == "cy":
        person.get("/language?to=cy&next=/")
    waiting = html.unescape(person.get("/decisions").text)
    checking = {"en": "Nothing has stopped yet", "cy": "Does dim wedi dod i ben eto"}[lang]
    assert checking in waiting and 'id="ask' not in waiting
    (case,) = app.cases.list(queue="decision-review", person=abe)
    resolve(client, tokens, case, "upheld", "payroll shows the new job from 1 December")
    app.worker.drain()
    assert "/decisions" in messages(app, abe)["benefit-stop-decision"]["content"]["short"]

    page = html.unescape(person.get("/decisions").text)
    stopped = {"en": "Stopped from 1 December 2026", "cy": "Daeth i ben o 1 Rhagfyr 2026"}[lang]
    assert stopped in page and "payroll shows the new job from 1 December" in page
    link = re.search(r'<a href="(/decisions/[^"]+/reconsider)" id="ask[^"]*"', page)
    assert link and link.group(1) == f"/decisions/{case.id}/reconsider"
    form = person.get(link.group(1))
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    sent = person.post(link.group(1), data={"csrf_token": csrf, "why": "I only started a trial day"},
                       follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/decisions?asked=1"
    again = person.post(link.group(1), data={"csrf_token": csrf, "why": "twice"}, follow_redirects=False)
    assert again.status_code == 303  # asking twice is one request
    app.worker.drain()
    (mr,) = app.cases.list(queue="mandatory-reconsideration", person=abe)
    assert mr.data["request"]["review_case"] == case.id and mr.data["request"]["decision"] == "benefit-stop"
    assert mr.data["request"]["stopped_from"] == "2026-12-01" and mr.data["request"]["why"] == "I only started a trial day"
    page = html.unescape(person.get("/decisions").text)
    being = {"en": "A different decision maker is looking at it again",
             "cy": "Mae gwneuthurwr penderfyniadau gwahanol yn edrych arno eto"}[lang]
    assert being in page and 'id="ask' not in page

    resolve(client, tokens, app.cases.get(mr.id), "overturned", "it was a one-day trial, not a job", by="Deri")
    app.worker.drain()
    fact = app.registry.profile(abe)["jsa_claimant"]
    assert fact.value is True and fact.valid_from.date().isoformat() == "2026-12-01"
    assert active_jobseeker(client, tokens) is True
    assert any(a["service"] == "jsa-new-style" and a["start_on"].isoformat() == "2026-12-01"
               for a in app.payments.view(abe))
    notice = messages(app, abe)["reconsideration-outcome"]["content"]["long"]
    assert "one-day trial" in notice
    page = html.unescape(person.get("/decisions").text)
    changed = {"en": "The decision was changed in your favour", "cy": "Newidiwyd y penderfyniad o'ch plaid"}[lang]
    assert changed in page
