"""Cases in the job-loss moment: a refusal opens a review, and the journey acts on its outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from civicmoments.domain.cases import CaseStatus

from ..people import known
from .test_engine_flow import LOW_PAY, job_ended


@pytest.fixture
def setup(app):
    employer, _ = app.organisations.add("Employer", ["https://e.example/hr"], ["uk.gov.dwp.*"])
    known(app, "rae", employer="Employer", **LOW_PAY)  # too little National Insurance: the rules refuse
    known(app, "dev", employer="Employer")
    dm = app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
    return employer, dm


def refused(app, employer, person="rae"):
    app.intake.submit(employer, [job_ended(person, f"n-{person}", class1_contribution_years=0)])
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    return j


def test_a_refusal_opens_a_decision_review_case_and_the_step_waits(app, setup):
    j = refused(app, setup[0])
    assert j.steps["review"].status.value == "waiting"
    (case,) = app.cases.list(queue="decision-review")
    assert j.steps["review"].result == {"case": case.id}
    assert (case.person, case.journey, case.step, case.priority, case.status) == \
        ("rae", j.id, "review", "high", CaseStatus.OPEN)
    app.worker.drain()  # running again opens nothing new: the effect's key is the case's key
    assert len(app.cases.list(queue="decision-review")) == 1


def test_an_overturned_review_awards_and_tells_the_person(app, setup):
    employer, dm = setup
    refused(app, employer)
    (case,) = app.cases.list(queue="decision-review")
    app.cases.resolve(case.id, dm, "overturned", "two contribution years were missed", case.version)
    app.worker.drain()
    (j,) = app.store.journeys_for("rae")
    assert j.steps["review"].status.value == "done"
    assert j.steps["review"].result["outcome"] == "overturned"
    assert j.steps["review-award"].status.value == "done"
    assert ("grant", "review-award") in {(d["kind"], d["step"]) for d in app.store.deliveries()}
    assert "review-outcome" in {m["template"] for m in app.messenger.of_person("rae")}


def test_an_upheld_review_awards_nothing(app, setup):
    employer, dm = setup
    refused(app, employer)
    (case,) = app.cases.list(queue="decision-review")
    app.cases.resolve(case.id, dm, "upheld", "the rules were right", case.version)
    app.worker.drain()
    (j,) = app.store.journeys_for("rae")
    assert j.steps["review"].result["outcome"] == "upheld"
    assert j.steps["review-award"].status.value == "skipped"
    assert ("grant", "review-award") not in {(d["kind"], d["step"]) for d in app.store.deliveries()}
    assert "review-outcome" in {m["template"] for m in app.messenger.of_person("rae")}


def test_no_consent_for_jobmatch_opens_a_job_matching_case_and_silence_a_work_coach_case(app, setup, clock):
    app.intake.submit(setup[0], [job_ended("dev", "n4")])
    app.worker.drain()
    (j,) = app.store.journeys_for("dev")
    assert [c.step for c in app.cases.list(person="dev")] == ["coach-match"]
    assert j.steps["coach-match"].status.value == "done"
    clock.advance(timedelta(days=14, seconds=1))
    app.worker.drain()
    found = app.cases.list(person="dev")
    # a message no channel could deliver is a task for staff: an assisted-contact case, one per message
    assert all(c.data.get("message") for c in found if c.queue == "assisted-contact")
    cases = {c.step: c for c in found if c.queue != "assisted-contact"}
    assert set(cases) == {"coach-match", "follow-up"}
    assert cases["follow-up"].queue == "work-coach"
    assert cases["follow-up"].due_at == cases["follow-up"].opened_at + timedelta(days=2)
