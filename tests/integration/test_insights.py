"""Insights from the store, on SQLite and PostgreSQL: measures of real journeys, versions compared."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from click.testing import CliRunner

from civicmoments.cli import main
from civicmoments.domain.insights import Suppressed
from civicmoments.engine.insights import UnknownMomentError, UnknownVersionError, report_csv

from ..conftest import TEST_KEYS, UK_PACK, make_app
from .test_engine_flow import EMPLOYER, employer_of, job_ended

PEOPLE = [f"p{i:02d}" for i in range(20)]


def job_started(person: str, ident: str) -> dict:
    return {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-started", "source": EMPLOYER,
            "id": ident, "subject": person, "data": {"start_date": "2026-02-01"}}


def run(app, employer, people, tag: str, back_in_work: int = 0, after_days: int = 20) -> None:
    """Each person's redundancy; then, ``after_days`` later, the first ``back_in_work`` start a job."""
    app.intake.submit(employer, [job_ended(p, f"{tag}-end-{p}") for p in people])
    app.worker.drain()
    app.clock.advance(timedelta(days=after_days))
    app.intake.submit(employer, [job_started(p, f"{tag}-start-{p}") for p in people[:back_in_work]])
    app.worker.drain()


def test_each_measure_of_real_journeys_matches_the_hand_worked_value(db_url, clock):
    app = make_app(db_url, clock)
    employer = employer_of(app, *PEOPLE)
    run(app, employer, PEOPLE, "a", back_in_work=10, after_days=20)
    report = app.insights.report("job-loss")
    assert report["versions"] == {"v1": 20}
    impact, exp, eff = (report["measures"][k] for k in ("impact", "experience", "efficiency"))
    assert impact["journeys"] == 20
    assert impact["reached"] == 10 and impact["reached_rate"] == 0.5
    assert impact["outcome_days_median"] == 20.0 and impact["outcome_days_p90"] == 20.0
    assert impact["back_in_work_30d_rate"] == 0.5 and impact["reached_within_rate"] == 0.5
    assert exp["questions_per_person"] == 4.0  # the survey asks four things
    assert exp["first_notice_days_median"] == 0.0  # the notice goes in the same run as the report
    assert exp["contacts_per_person"] >= 1.0
    # no JobMatch in these tests: every journey opens a job-matching case (20); the ten still out of
    # work after the survey's 14 days get a work coach's call (10): 30 cases for 20 journeys. Messages
    # that fall to the assisted channel (no contact details) each open an assisted-contact case too
    # (10); the messenger opens those, not the journey, so they are not in cases_per_100. For someone
    # back in work on the day their notice falls back, which comes first (the fall-back or the
    # notice being withdrawn) is a race the engine may run either way, so only the others are counted
    queues = sorted(c.queue for p in PEOPLE for c in app.cases.list(person=p) if c.queue != "assisted-contact")
    assert queues == ["job-matching"] * 20 + ["work-coach"] * 10
    assisted = {c.person for p in PEOPLE for c in app.cases.list(person=p) if c.queue == "assisted-contact"}
    assert assisted >= set(PEOPLE[10:])
    assert eff["cases_per_100"] == 150.0
    assert eff["zero_touch_rate"] is None  # the employer's word is silver: no award without a claim
    by_age = app.insights.report("job-loss", group="age_band")["groups"]
    assert by_age == {"25-34": by_age["25-34"]} and by_age["25-34"]["people"] == 20  # all born 1996


def test_a_period_with_no_journeys_says_so_and_a_small_one_is_suppressed(db_url, clock):
    app = make_app(db_url, clock)
    employer = employer_of(app, *PEOPLE[:5])
    run(app, employer, PEOPLE[:5], "b")
    start = clock.now() + timedelta(days=100)
    empty = app.insights.report("job-loss", start=start)
    assert empty["empty"] and "no journeys" in empty["reason"] and empty["measures"] is None
    small = app.insights.report("job-loss")
    assert small["journeys"] == Suppressed() and "fewer than 10" in small["reason"]
    assert small["measures"]["impact"]["reached_rate"] == Suppressed()
    assert "fewer than 10" in report_csv(small)
    with pytest.raises(UnknownMomentError, match="no moment 'job-lost'"):
        app.insights.report("job-lost")
    with pytest.raises(UnknownVersionError, match="'v9'"):
        app.insights.report("job-loss", version="v9")


def test_asking_one_question_fewer_is_measured_by_comparing_versions(db_url, clock, tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(UK_PACK, pack)
    first = make_app(db_url, clock, pack=pack)
    employer = employer_of(first, *PEOPLE)
    run(first, employer, PEOPLE[:10], "v1")
    moment = pack / "moments" / "job-loss.yaml"
    text = moment.read_text()
    changed = (text.replace("version: v1 ", "version: v2 ")
               .replace("person: [aspirations, travel_radius_miles, bank_account, employment_status]",
                        "person: [aspirations, travel_radius_miles, employment_status]"))
    assert changed.count("version: v2") == 1 and "bank_account, employment_status" not in changed
    moment.write_text(changed)
    second = make_app(db_url, clock, pack=pack)
    assert second.pack.moments["job-loss"].digest != first.pack.moments["job-loss"].digest
    run(second, employer, PEOPLE[10:], "v2")
    found = second.insights.compare("job-loss", "v1", "v2")
    assert found["journeys"] == {"from": 10, "to": 10}
    assert found["measures"]["experience"]["questions_per_person"] == {"from": 4.0, "to": 3.0, "change": -1.0}
    env = {**TEST_KEYS, "CIVIC_DATABASE_URL": db_url, "CIVIC_PACK_DIR": str(pack),
           "CIVIC_DATA_DIR": str(tmp_path / "data"), "CIVIC_LOG_LEVEL": "WARNING"}
    out = CliRunner().invoke(main, ["insights", "compare", "job-loss", "--from", "v1", "--to", "v2"], env=env,
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if "questions_per_person" in x)
    assert line.split()[1:] == ["4", "3", "-1"]
    out = CliRunner().invoke(main, ["insights", "show", "job-loss", "--version", "v3"], env=env)
    assert out.exit_code == 1 and "'v3'" in out.output
