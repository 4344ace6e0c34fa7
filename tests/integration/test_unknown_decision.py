"""An unknown decision moves: the survey asks what it lacks, and what the person cannot give
goes to a work coach, with the notice saying what will happen and by when."""

from __future__ import annotations

import pytest

EMPLOYER = "https://e.example/hr"
GAPS = {"class1_earnings_last_year_pence", "class1_earnings_year_before_pence"}


@pytest.fixture
def undecided(app):
    employer, _ = app.organisations.add("Employer", [EMPLOYER], ["uk.gov.dwp.*"])
    gro, _ = app.organisations.add("GRO", ["https://gro.example"], ["facts:*"])
    pid = app.registry.add_person()
    app.registry.record(gro, pid, [{"attribute": "date_of_birth", "value": "1984-05-02"},
                                   {"attribute": "given_name", "value": "Dee"},
                                   {"attribute": "family_name", "value": "Okafor"},
                                   # only the person's employer may report the job ending
                                   {"attribute": "employer", "value": "Employer"}])
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": EMPLOYER, "id": f"n-{pid}", "subject": pid,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 41}}])
    app.worker.drain()
    return pid


def journey(app, pid):
    (j,) = [x for x in app.store.journeys_for(pid) if x.moment == "job-loss"]
    return j


def test_the_notice_says_what_will_happen_and_by_when(app, undecided):
    j = journey(app, undecided)
    assert j.steps["assess"].result["status"] == "unknown"
    assert {a["attribute"] for a in j.steps["assess"].result["ask"]} == GAPS
    notice = {m["template"]: m for m in app.messenger.of_person(undecided, reveal=True)}["notice-of-assistance"]
    text = " ".join(notice["content"]["long"].split())
    assert "We cannot work out your New Style Jobseeker's Allowance yet" in text
    assert "by 19 January 2026" in text  # 5 January and the survey's 14 days
    assert "a work coach will look at your claim" in text


def test_the_survey_asks_what_the_decision_lacks_and_nobody_holds(app, undecided):
    gaps = app.questions.decision_gaps(app.services.decisions(undecided, app.clock.now().date()).values())
    assert GAPS <= set(gaps)
    plan = app.questions.plan(undecided, ",".join(gaps))
    assert GAPS <= {q["attribute"] for q in plan["ask"]}
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example"], ["facts:*"])
    app.registry.record(hmrc, undecided, [{"attribute": "class1_earnings_year_before_pence", "value": 2_000_000}])
    plan = app.questions.plan(undecided, ",".join(gaps))
    assert "class1_earnings_year_before_pence" not in {q["attribute"] for q in plan["ask"]}  # HMRC holds it now


def test_what_the_person_cannot_answer_opens_a_case_for_a_work_coach(app, undecided):
    app.questions.answer(undecided, {"aspirations": "warehouse work"}, cannot_answer=sorted(GAPS))
    app.worker.drain()
    j = journey(app, undecided)
    assert j.steps["reassess"].result["status"] == "unknown"
    assert j.steps["coach-decision"].status.value == "done"
    # the open-case step opens a real case in the work coaches' queue
    (case,) = [c for c in app.cases.list(person=undecided) if c.step == "coach-decision"]
    assert (case.queue, case.journey) == ("work-coach", j.id)
    assert j.steps["coach-decision"].result["case"] == case.id
    assert j.steps["late-award"].status.value != "done"


def test_answers_that_decide_it_lead_to_an_award_and_no_case(app, undecided):
    app.questions.answer(undecided, {"class1_earnings_last_year_pence": 3_000_000,
                                     "class1_earnings_year_before_pence": 2_900_000})
    app.worker.drain()
    j = journey(app, undecided)
    assert j.steps["reassess"].result["status"] == "decided"
    assert j.steps["late-award"].status.value == "done"
    assert "coach-decision" not in {c.step for c in app.cases.list(person=undecided)}
