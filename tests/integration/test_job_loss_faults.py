"""The job-loss moment when things go wrong: the partner down, and a decision the person answers."""

from __future__ import annotations

from datetime import timedelta

from ..conftest import make_app

EMPLOYER = "https://northfield.example/hr"


def abe(app, **overrides) -> str:
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"],
                                    ["facts:identity", "facts:income", "facts:employment", "facts:address"])
    pid = app.registry.add_person()
    facts = {"given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1981-03-14", "home_area": "Leeds",
             "occupation": "welder", "class1_earnings_last_year_pence": 3_100_000,
             "class1_earnings_year_before_pence": 2_950_000, "employer": "Northfield", **overrides}
    app.registry.record(hmrc, pid, [{"attribute": k, "value": v} for k, v in facts.items() if v is not None])
    return pid


def report(app, pid: str) -> None:
    employer, _ = app.organisations.add("Northfield", [EMPLOYER], ["uk.gov.dwp.employment.*"])
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": EMPLOYER, "id": f"N-{pid}", "subject": pid,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 44}}])


def test_with_jobmatch_down_the_share_is_retried_then_a_work_coach_matches_and_the_notice_comes(sqlite_url, clock):
    app = make_app(sqlite_url, clock, settings={"partner_urls": {"JobMatch": "http://127.0.0.1:9/v1/profiles"}})
    app.organisations.add("JobMatch", ["https://jobmatch.example/*"], [])
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation", "home_area"])
    pid = abe(app)
    app.consents.give(pid, "employment-support")
    report(app, pid)
    app.worker.drain()
    (j,) = app.store.journeys_for(pid)
    assert j.steps["match"].status.value == "waiting"  # retrying, with backoff
    for _ in range(6):
        clock.advance(timedelta(seconds=40))
        app.worker.drain()
    (j,) = app.store.journeys_for(pid)
    assert j.steps["match"].status.value == "failed" and j.steps["coach-match"].status.value == "done"
    dead = {d["key"].rsplit(":", 1)[1]: d for d in app.store.dead_letters()}
    assert set(dead) == {"match"}, {k: d["last_error"] for k, d in dead.items()}
    dead = dead["match"]
    assert dead["attempts"] == 5 and "ConnectError" in dead["last_error"]
    notice = {m["template"]: m for m in app.messenger.of_person(pid, reveal=True)}["notice-of-assistance"]
    assert "A work coach will send you jobs that suit you" in notice["content"]["long"]
    assert "£92.05 a week" in notice["content"]["long"]  # the benefit does not wait for the partner


def test_a_decision_missing_a_fact_asks_for_it_then_awards_after_the_survey(sqlite_url, clock):
    app = make_app(sqlite_url, clock)
    pid = abe(app, class1_earnings_year_before_pence=None)
    report(app, pid)
    app.worker.drain()
    (j,) = app.store.journeys_for(pid)
    assess = j.steps["assess"].result
    assert assess["status"] == "unknown" and [a["attribute"] for a in assess["ask"]] == [
        "class1_earnings_year_before_pence"]
    assert j.steps["award"].status.value == "skipped"
    app.questions.answer(pid, {"class1_earnings_year_before_pence": 2_900_000, "aspirations": "welding inspector"})
    app.worker.drain()
    (j,) = app.store.journeys_for(pid)
    assert j.steps["reassess"].result["status"] == "decided"
    assert j.steps["late-award"].status.value == "done"
    assert app.registry.profile(pid)["jsa_claimant"].value is True


def test_a_hiring_report_records_the_job_and_the_employees_consent_to_share_their_history(sqlite_url, clock):
    app = make_app(sqlite_url, clock)
    pid = abe(app, employer=None)  # a new starter: no register names an employer yet
    employer, _ = app.organisations.add("Northfield", [EMPLOYER], ["uk.gov.dwp.employment.*"])
    csv = ("starter_ref,person_id,start_date,employer,occupation,consent\n"
           f"H-1,{pid},2026-01-05,Northfield Manufacturing,welder,true\n"
           f"H-2,{pid},05/01/2026,Northfield Manufacturing,welder,true\n")
    from civicmoments.engine.csv_intake import read_rows, submit_rows

    event_type = app.pack.event_types["uk.gov.dwp.employment.employment-started"]
    receipts = submit_rows(app.intake, employer, read_rows(event_type, csv, EMPLOYER))
    assert [r.status for r in receipts] == ["accepted", "rejected"]  # a bad date, reported against its row
    app.worker.drain()
    profile = app.registry.profile(pid)
    assert profile["employer"].value == "Northfield Manufacturing" and profile["employment_status"].value == "employed"
    (receipt,) = app.consents.receipts(pid)
    assert (receipt["purpose"]["id"], receipt["state"], receipt["collection_method"]) == (
        "employment-history", "given", "employer")
