"""The engine end to end on a real database: intake, dispatcher, timers, effects, providers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from civicmoments.domain.journeys import JourneyStatus

from ..conftest import make_app
from ..people import known
from ..recording_provider import RecordingProvider

EMPLOYER = "https://e.example/hr"


def job_ended(person: str, ident: str, **data) -> dict:
    base = {"reason": "redundancy", "last_day": "2026-01-02", "age": 30, "class1_contribution_years": 2}
    return {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": EMPLOYER,
            "id": ident, "subject": person, "data": {**base, **data}}


def dispatch_only(app) -> None:
    """Run the dispatcher without performing effects, to look at what is queued."""
    while app.store.fire_due_timers(app.clock.now()) or app.store.dispatch(500, app.dispatcher.handle):
        pass


# The employer's staff in these tests; fay paid too little National Insurance for New Style JSA.
STAFF = ("ana", "ben", "cara", "dev", "eve", "joy")
LOW_PAY = {"class1_earnings_last_year_pence": 0, "class1_earnings_year_before_pence": 0}


def employer_of(app, *people, **facts):
    """The organisation "Employer", which employs these people (so it may report their jobs)."""
    employer, _ = app.organisations.add("Employer", [EMPLOYER], ["uk.gov.dwp.*"])
    for person in people:
        known(app, person, employer="Employer", **facts)
    return employer


@pytest.fixture
def orgs(app):
    employer = employer_of(app, *STAFF)
    known(app, "fay", employer="Employer", **LOW_PAY)
    portal, _ = app.organisations.add("Portal", ["civic://portal"], ["civic.*"])
    return employer, portal


def test_a_redundancy_runs_the_moment_and_performs_each_effect_once(app, orgs):
    employer, portal = orgs
    app.intake.submit(employer, [job_ended("ana", "n1")])
    app.worker.drain()
    (j,) = app.store.journeys_for("ana")
    assert j.steps["assess"].result["outputs"] == {"jsa_new_style_eligible": True,
                                                   "jsa_new_style_weekly_rate": 92.05}
    kinds = sorted((d["kind"], d["step"]) for d in app.store.deliveries())
    # An employer's report alone is not all gold: no zero-touch award. No JobMatch: a coach matches.
    assert kinds == [("ask", "survey"), ("record", "profile")]
    assert [(c.queue, c.step) for c in app.cases.list(person="ana")] == [("job-matching", "coach-match")]
    assert [m["template"] for m in app.messenger.of_person("ana")] == ["notice-of-assistance"]
    app.intake.submit(portal, [{"specversion": "1.0", "type": "civic.person.answered",
                                "source": "civic://portal", "id": "a1", "subject": "ana",
                                "data": {"answers": {"aspirations": "nursing"}}}])
    app.worker.drain()
    assert "return-to-work-plan" in {m["template"] for m in app.messenger.of_person("ana")}
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-started",
                                  "source": EMPLOYER, "id": "s1", "subject": "ana",
                                  "data": {"start_date": "2026-02-01"}}])
    app.worker.drain()
    (j,) = [x for x in app.store.journeys_for("ana") if x.moment == "job-loss"]
    assert j.status is JourneyStatus.COMPLETED
    # the survey deadline, the wait for an interview booking and the objective
    assert app.store.counts()["timers"] == {"cancelled": 3}


def test_a_different_reason_starts_no_journey(app, orgs):
    app.intake.submit(orgs[0], [job_ended("cara", "n2", reason="retirement")])
    app.worker.drain()
    assert app.store.journeys_for("cara") == []
    assert app.store.counts()["events"] == {"processed": 1}


def test_reaching_the_objective_cancels_an_effect_queued_in_the_same_batch(app, orgs):
    employer, portal = orgs
    app.intake.submit(employer, [job_ended("joy", "n10")])
    app.worker.drain()
    app.intake.submit(portal, [{"specversion": "1.0", "type": "civic.person.answered",
                                "source": "civic://portal", "id": "a2", "subject": "joy",
                                "data": {"answers": {}}}])
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-started",
                                  "source": EMPLOYER, "id": "s2", "subject": "joy",
                                  "data": {"start_date": "2026-02-01"}}])
    app.worker.drain()
    (j,) = [x for x in app.store.journeys_for("joy") if x.moment == "job-loss"]
    assert j.status is JourneyStatus.COMPLETED
    found = app.store.journey(j.id)
    assert {e["step"]: e["status"] for e in found["effects"]}["rematch"] == "cancelled"
    assert ("share", "rematch") not in {(d["kind"], d["step"]) for d in app.store.deliveries()}


def test_cancelling_a_journey_cancels_effects_already_queued(app, orgs):
    employer, _ = orgs
    app.intake.submit(employer, [job_ended("ben", "n3")])
    dispatch_only(app)
    (j,) = app.store.journeys_for("ben")
    assert app.store.counts()["effects"] == {"pending": 1}  # the career profile, which the rest wait for
    assert app.store.request_cancel(j.id, "moved abroad", app.clock.now())
    app.worker.drain()
    (j,) = app.store.journeys_for("ben")
    assert j.status is JourneyStatus.CANCELLED
    assert app.store.counts()["effects"] == {"cancelled": 1}
    assert app.store.deliveries() == []


def test_a_passed_deadline_opens_a_case_for_a_work_coach(app, orgs, clock):
    app.intake.submit(orgs[0], [job_ended("dev", "n4")])
    app.worker.drain()
    clock.advance(timedelta(days=14, seconds=1))
    app.worker.drain()
    (j,) = app.store.journeys_for("dev")
    assert j.steps["survey"].status.value == "timed-out"
    assert "follow-up" in {c.step for c in app.cases.list(person="dev", queue="work-coach")}


def test_the_objective_deadline_expires_the_journey(app, orgs, clock):
    app.intake.submit(orgs[0], [job_ended("eve", "n5")])
    app.worker.drain()
    clock.advance(timedelta(days=181))
    app.worker.drain()
    (j,) = app.store.journeys_for("eve")
    assert j.status is JourneyStatus.EXPIRED


def test_an_event_breaking_a_condition_is_quarantined_then_replayed(app, orgs, tmp_path):
    # A moment whose condition reads a field the schema lets the sender leave out.
    app.intake.submit(orgs[0], [job_ended("fay", "n6", class1_contribution_years=1)])
    original = app.dispatcher.moments["job-loss"]
    from civicmoments.domain.moments import Trigger
    from civicmoments.rules.cel import CelCondition

    broken = CelCondition("event.data.notice_weeks > 2")
    app.dispatcher.moments["job-loss"] = dataclasses.replace(
        original, trigger=Trigger(original.trigger.event, broken, broken.source))
    app.dispatcher.triggers = {original.trigger.event: [app.dispatcher.moments["job-loss"]]}
    app.worker.drain()
    (q,) = app.store.quarantined()
    assert "notice_weeks" in q["error"] and q["event_id"] == "n6"
    app.dispatcher.moments["job-loss"] = original
    app.dispatcher.triggers = {original.trigger.event: [original]}
    assert app.store.replay() == 1
    app.worker.drain()
    assert app.store.quarantined() == []
    (j,) = app.store.journeys_for("fay")
    assert j.steps["assess"].result["outputs"]["jsa_new_style_eligible"] is False
    assert j.steps["review"].status.value == "waiting"  # refusal goes to a person, who decides
    assert "decision-review" in {c.queue for c in app.cases.list(person=j.person)}


def test_http_effects_are_retried_with_backoff_then_succeed(sqlite_url, clock):
    with RecordingProvider() as provider:
        provider.fail_plan = {":notice": [503, 503]}
        app = make_app(sqlite_url, clock, effects_url=provider.url)
        employer = employer_of(app, "gus")
        app.intake.submit(employer, [job_ended("gus", "n7")])
        app.worker.drain()
        (j,) = app.store.journeys_for("gus")
        key = f"{j.id}:notice"
        assert provider.calls[key] == 1 and key not in provider.performed
        clock.advance(timedelta(seconds=2))  # the first backoff
        app.worker.drain()
        clock.advance(timedelta(seconds=4))  # the second, doubled
        app.worker.drain()
        assert provider.calls[key] == 3 and provider.performed[key] == 1
        # Only the partner share is dead: the gate refused it, as gus never consented.
        assert [d["kind"] for d in app.store.dead_letters()] == ["share"]


def test_a_permanent_http_failure_dead_letters_and_fails_the_journey(sqlite_url, clock):
    with RecordingProvider() as provider:
        provider.fail_plan = {":assess": [400]}
        app = make_app(sqlite_url, clock, effects_url=provider.url)
        employer = employer_of(app, "hal")
        app.intake.submit(employer, [job_ended("hal", "n8")])
        app.worker.drain()
        dead = {d["key"].rsplit(":", 1)[1]: d for d in app.store.dead_letters()}
        assert "HTTP 400" in dead["assess"]["last_error"]
        (j,) = app.store.journeys_for("hal")
        assert j.status is JourneyStatus.FAILED
        found = app.store.journey(j.id)
        kinds = [(t["kind"], t["step"]) for t in found["timeline"]]
        assert kinds[-1] == ("failed", None) and ("effect-dead-lettered", "assess") in kinds


def test_an_unreachable_provider_is_retried_not_dropped(sqlite_url, clock):
    app = make_app(sqlite_url, clock, effects_url="http://127.0.0.1:9/effects")
    employer = employer_of(app, "ivy")
    app.intake.submit(employer, [job_ended("ivy", "n9")])
    app.worker.drain()
    pending = app.store.claim_effects(clock.now() + timedelta(seconds=3), 10, 30)
    assert {(e.step, e.kind, e.attempts) for e in pending} == {("profile", "record", 2)}  # the rest wait for it
