"""A fact keeps its real source and basis, and its tier comes from the pack's assurance
rules: an employer's report is silver, HMRC's register gold. Zero-touch needs gold; on the
employer's word alone the award waits for the person's confirmation, and the notice says so."""

from __future__ import annotations

import pytest

from civicmoments.domain.people import Basis, Tier, assured

EMPLOYER = "https://northfield.example/hr"
# HMRC's register names the employer, so Northfield may report the job ending (only an employer may).
FACTS = {"employer": "Northfield", "given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1984-05-02", "home_area": "Leeds",
         "class1_earnings_last_year_pence": 3_100_000, "class1_earnings_year_before_pence": 2_950_000}


@pytest.fixture
def world(app):
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    employer, _ = app.organisations.add("Northfield", ["https://northfield.example/*"], ["uk.gov.dwp.employment.*"])
    portal, _ = app.organisations.add("Portal", ["civic://portal"], ["civic.*"])
    return hmrc, employer, portal


def redundancy(app, employer, person):
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": EMPLOYER, "id": f"n-{person}", "subject": person,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 42,
                                           "class1_contribution_years": 2}}])
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    return j


def test_the_pack_declares_employer_reports_silver_and_hmrcs_register_gold(app):
    rules = app.pack.assurance
    assert assured(rules, Basis.REPORTED, "Northfield", "uk.gov.dwp.employment.job-ended").tier is Tier.SILVER
    assert assured(rules, Basis.REGISTER, "HMRC").tier is Tier.GOLD


def test_on_the_employers_word_alone_the_award_waits_for_the_persons_confirmation(app, world):
    hmrc, employer, _ = world
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in FACTS.items()])
    j = redundancy(app, employer, person)

    status = app.registry.profile(person)["employment_status"]
    assert (status.value, status.source, status.basis, status.tier) == \
        ("unemployed", employer.id, Basis.REPORTED, Tier.SILVER)  # the employer's, not the platform's
    assert j.steps["assess"].result["all_gold"] is False
    assert j.steps["assess"].result["outputs"]["jsa_new_style_eligible"] is True
    assert j.steps["award"].status.value == "skipped"  # no zero-touch award on a silver fact
    assert "jsa_claimant" not in app.registry.profile(person)
    (notice,) = app.messenger.of_person(person, reveal=True)
    text = notice["content"]["long"]
    assert "Your employer told us your job has ended, but we have not heard it from HMRC yet" in text
    assert "/survey" in text and "We have started it for you" not in text
    plan = app.questions.plan(person, "employment_status")
    assert [c["attribute"] for c in plan["confirm"]] == ["employment_status"]

    app.questions.answer(person, {"employment_status": "unemployed"})  # the person confirms it
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    assert j.steps["confirmed-award"].status.value == "done"
    assert app.registry.profile(person)["jsa_claimant"].value is True


def test_a_person_who_says_the_report_is_wrong_gets_no_award(app, world):
    hmrc, employer, _ = world
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in FACTS.items()])
    redundancy(app, employer, person)
    app.questions.answer(person, {"employment_status": "employed"})
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    assert j.steps["confirmed-award"].status.value == "skipped"
    assert "jsa_claimant" not in app.registry.profile(person)


def test_with_hmrcs_register_the_award_is_zero_touch_and_the_notice_says_it_started(app, world):
    hmrc, employer, _ = world
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in
                                       {**FACTS, "employment_status": "unemployed"}.items()])
    j = redundancy(app, employer, person)
    assert j.steps["award"].status.value == "done"
    (notice,) = [m for m in app.messenger.of_person(person, reveal=True) if m["template"] == "notice-of-assistance"]
    assert "We have started it for you" in notice["content"]["long"]
    facts = app.registry.store.facts_of([person], ["employment_status"])[person]
    assert {(f.source, f.basis.value, f.tier.value) for f in facts} == \
        {(hmrc.id, "register", "gold"), (employer.id, "reported", "silver")}
