"""The registry, consent, agreements, the gate and the access log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from civicmoments.adapters.store.schema import access_log, facts, inbox
from civicmoments.domain import audit as A
from civicmoments.domain.disclosure import ConsentNotGivenError, NoAgreementError
from civicmoments.domain.journeys import JourneyStatus
from civicmoments.engine import errors as E
from civicmoments.engine.gate import Refusal, Release

EMPLOYER = "https://e.example/hr"


@pytest.fixture
def world(app):
    orgs = app.organisations
    hmrc, _ = orgs.add("HMRC", ["https://hmrc.example/*"], ["facts:identity", "facts:address", "facts:finance"])
    employer, _ = orgs.add("Employer", [EMPLOYER], ["uk.gov.dwp.*", "facts:employment"])
    partner, _ = orgs.add("JobMatch", ["https://jm.example/*"], [])
    transit, _ = orgs.add("Metro", ["https://metro.example/*"], [])
    person = app.registry.add_person({"ni_number": "SJ123456A"})
    app.registry.record(hmrc, person, [
        {"attribute": "given_name", "value": "Ana"}, {"attribute": "family_name", "value": "Costa"},
        {"attribute": "date_of_birth", "value": "1991-04-12"}, {"attribute": "postcode", "value": "LS1 4AP"},
        {"attribute": "bank_account", "value": "20-00-00 12345678"}])
    app.registry.record(employer, person, [{"attribute": "employer", "value": "Employer", "tier": "silver"}])
    app.registry.record(employer, person, [{"attribute": "occupation", "value": "fitter", "tier": "silver",
                                            "basis": "verified"}])
    return {"hmrc": hmrc, "employer": employer, "partner": partner, "transit": transit, "person": person}


def test_sensitive_values_are_encrypted_at_rest_and_masked_in_profiles(app, world):
    with app.store.reader.connect() as conn:
        stored = conn.execute(select(facts.c.value).where(facts.c.attribute == "bank_account")).scalar()
    assert stored.startswith("enc:") and "12345678" not in stored
    assert app.registry.profile(world["person"])["bank_account"].value == "[sensitive]"
    assert app.registry.profile(world["person"], reveal=["bank_account"])["bank_account"].value == "20-00-00 12345678"


@pytest.mark.parametrize(("raw", "error", "words"), [
    ({"attribute": "shoe_size", "value": 9}, E.UnknownAttributeError, "shoe_size"),
    ({"attribute": "date_of_birth", "value": "12/04/1991"}, E.WrongValueTypeError, "YYYY-MM-DD"),
    ({"attribute": "household_size", "value": "four"}, E.DomainNotAuthorisedError, "facts:household"),
    ({"attribute": "postcode", "value": 1234}, E.WrongValueTypeError, "must be a string; got integer 1234"),
    ({"attribute": "postcode", "value": "X", "tier": "platinum"}, E.WrongValueTypeError, "platinum"),
])
def test_bad_facts_get_named_errors(app, world, raw, error, words):
    with pytest.raises(error, match=words):
        app.registry.record(world["hmrc"], world["person"], [raw])


def test_a_fact_about_nobody_is_refused(app, world):
    with pytest.raises(E.UnknownPersonError):
        app.registry.record(world["hmrc"], "nobody", [{"attribute": "postcode", "value": "X"}])


def test_the_question_planner_asks_only_what_is_not_known(app, world, clock):
    plan = app.questions.plan(world["person"], "jsa-new-style")
    known = {k["attribute"]: k for k in plan["known"]}
    assert known["date_of_birth"]["tier"] == "gold" and known["date_of_birth"]["source"] == world["hmrc"].id
    asked = [a["attribute"] for a in plan["ask"]]
    assert asked == ["ni_number", "last_day_of_work", "class1_contribution_years"]
    assert all("New Style Jobseeker" in a["why"] for a in plan["ask"])
    assert app.registry.store.question_counts()["jsa-new-style"] == {"asked": 3, "known": 5}
    app.questions.answer(world["person"], {"ni_number": "SJ123456A", "postcode": "LS2 9ZZ"})
    prof = app.registry.profile(world["person"])
    assert prof["ni_number"].tier.value == "bronze" and prof["ni_number"].basis.value == "declared"
    assert prof["postcode"].value == "LS1 4AP"  # the register's gold fact outranks a declaration
    clock.advance(timedelta(days=1))
    app.registry.record(world["hmrc"], world["person"], [{"attribute": "ni_number", "value": "SJ123456A"}])
    assert app.registry.profile(world["person"])["ni_number"].tier.value == "gold"
    with pytest.raises(E.UnknownFormError):
        app.questions.plan(world["person"], "no-such-form")


def test_consent_errors(app, world):
    with pytest.raises(E.UnknownPurposeError, match="known purposes"):
        app.consents.give(world["person"], "marketing")
    with pytest.raises(E.ConsentNeverGivenError):
        app.consents.withdraw(world["person"], "employment-support")
    receipt = app.consents.give(world["person"], "employment-support", "app")
    assert receipt["state"] == "given" and receipt["notice"]["version"] == "2026-01"
    assert receipt["how_to_withdraw"].endswith("/consents")  # a portal link
    app.consents.withdraw(world["person"], "employment-support", "app")
    with pytest.raises(E.ConsentNeverGivenError):
        app.consents.withdraw(world["person"], "employment-support")
    assert [r["state"] for r in app.consents.receipts(world["person"])] == ["given", "withdrawn"]


def test_agreements_are_validated_and_versioned(app, world):
    with pytest.raises(E.InvalidAgreementError, match="shoe_size"):
        app.agreements.put("jm", "JobMatch", "employment-support", ["occupation", "shoe_size"])
    with pytest.raises(E.UnknownOrganisationError):
        app.agreements.put("jm", "Nobody", "employment-support", ["occupation"])
    v1 = app.agreements.put("jm", "JobMatch", "employment-support", ["occupation"])
    v2 = app.agreements.put("jm", "JobMatch", "employment-support", ["occupation", "postcode"])
    assert (v1.version, v2.version) == (1, 2)
    assert [a.attributes for a in app.agreements.versions("jm")] == [("occupation",), ("occupation", "postcode")]


def test_the_gate_pseudonymises_minimises_logs_and_reidentifies(app, world):
    person, partner = world["person"], world["partner"].id
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation", "postcode"])
    (refused,) = app.gate.disclose(partner, "employment-support", [person], ["occupation"])
    assert isinstance(refused, Refusal) and isinstance(refused.error, ConsentNotGivenError)
    app.consents.give(person, "employment-support")
    (release,) = app.gate.disclose(partner, "employment-support", [person], ["occupation", "bank_account"])
    assert isinstance(release, Release)
    assert release.data == {"occupation": "fitter"} and release.authorisation.withheld == ("bank_account",)
    assert release.subject.startswith("ps1_") and person not in release.subject
    assert app.gate.reidentify(partner, "employment-support", release.subject) == person
    assert app.gate.reidentify(world["transit"].id, "employment-support", release.subject) is None
    log = app.registry.store.log_for(person)
    assert [e["outcome"] for e in log] == ["disclosed", "refused"]
    assert log[0]["attributes"] == ["occupation"] and log[1]["rule"] == "consent-not-given"
    assert "fitter" not in str(log)  # the log holds names of attributes, never values


def test_a_yes_no_check_discloses_nothing_else(app, world):
    person, transit = world["person"], world["transit"].id
    with pytest.raises(NoAgreementError):
        app.gate.disclose_one(transit, "fare-concession", person, ["occupation"])
    app.agreements.put("metro", "Metro", "fare-concession", [], "identified", 1, ["active-jobseeker"])
    assert app.gate.check(transit, "fare-concession", [person], "active-jobseeker") == [False]
    dwp, _ = app.organisations.add("DWP", ["https://dwp.example/*"], ["facts:benefits"])
    app.registry.record(dwp, person, [{"attribute": "jsa_claimant", "value": True}])
    assert app.gate.check(transit, "fare-concession", [person], "active-jobseeker") == [True]
    app.consents.refuse(person, "fare-concession")  # opt-out: the person objects
    (answer,) = app.gate.check(transit, "fare-concession", [person], "active-jobseeker")
    assert isinstance(answer, Refusal)
    entries = app.registry.store.log_for(person)
    assert [e["outcome"] for e in entries][:3] == ["refused", "answered", "answered"]


def test_withdrawal_blocks_a_share_already_queued_and_the_department_matches_instead(app, world):
    person = world["person"]
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation", "home_area"])
    app.consents.give(person, "employment-support")
    app.intake.submit(world["employer"], [{
        "specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": EMPLOYER, "id": "n1",
        "subject": person, "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 34,
                                    "class1_contribution_years": 2}}])
    app.store.dispatch(500, app.dispatcher.handle)  # the career profile first,
    app.effects.run_once()
    app.store.dispatch(500, app.dispatcher.handle)  # then the share is queued, not yet performed
    (j,) = app.store.journeys_for(person)
    queued = {e["step"]: e["status"] for e in app.store.journey(j.id)["effects"]}
    assert queued["match"] == "pending"
    app.consents.withdraw(person, "employment-support", "portal")
    app.effects.run_once()  # the effect worker reaches the queued share before the journey hears
    assert all(d["kind"] != "share" for d in app.store.deliveries())  # nothing reached the partner
    (entry,) = [e for e in app.registry.store.log_for(person) if e["purpose"] == "employment-support"]
    assert (entry["outcome"], entry["rule"]) == ("refused", "consent-not-given")
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    assert j.status is JourneyStatus.ACTIVE and j.steps["match"].status.value == "failed"
    assert "coach-match" in {c.step for c in app.cases.list(person=person, queue="job-matching")}


def test_identity_resolution(app, world):
    r = app.resolver
    assert r.resolve({}, {"ni_number": "SJ123456A"}).person == world["person"]
    typo = r.resolve({"given_name": "Anna", "family_name": "Costa", "date_of_birth": "1991-04-12",
                      "postcode": "LS1 4AP"})
    # one letter more in the given name: perhaps a typo, perhaps a twin; a person decides
    assert typo.method == "review" and typo.candidates[0].person == world["person"]
    swapped = r.resolve({"given_name": "Costa", "family_name": "Ana", "date_of_birth": "1991-04-12",
                         "postcode": "ls14ap"})
    assert swapped.person == world["person"]
    twin = app.registry.add_person()
    app.registry.record(world["hmrc"], twin, [
        {"attribute": "given_name", "value": "Bea"}, {"attribute": "family_name", "value": "Costa"},
        {"attribute": "date_of_birth", "value": "1991-04-12"}, {"attribute": "postcode", "value": "LS1 4AP"}])
    shared_dob = r.resolve({"given_name": "Beatriz", "family_name": "Costa", "date_of_birth": "1991-04-12",
                            "postcode": "LS1 4AP"})
    assert shared_dob.person is None and shared_dob.method == "review"  # never merged on a guess
    assert {c.person for c in shared_dob.candidates} == {world["person"], twin}
    stranger = r.resolve({"given_name": "Zed", "family_name": "Quill", "date_of_birth": "1970-01-01"})
    assert stranger.method == "new" and stranger.candidates == []


def test_merges_can_be_reversed(app, world):
    dup = app.registry.add_person({"staff_number": "NF-9"})
    app.registry.record(world["employer"], dup, [{"attribute": "skills", "value": "welding"}])
    merge = app.resolver.merge(world["person"], dup, 97.0, "same NI number on a paper form")
    assert app.registry.profile(world["person"])["skills"].value == "welding"
    assert app.resolver.unmerge(merge)
    assert "skills" not in app.registry.profile(world["person"])
    assert not app.resolver.unmerge(merge)
    with app.store.reader.connect() as conn:
        kinds = conn.execute(select(inbox.c.type).where(inbox.c.subject == world["person"])
                             .order_by(inbox.c.seq)).scalars().all()
    assert kinds == ["civic.person.merged", "civic.person.unmerged"]


def test_households(app, world):
    household = app.registry.join_household(None, world["person"], "adult")
    child = app.registry.add_person()
    app.registry.join_household(household, child, "child")
    assert {(m["person_id"], m["role"]) for m in app.registry.household(household)} == {
        (world["person"], "adult"), (child, "child")}
    with pytest.raises(E.WrongValueTypeError, match="role must be one of"):
        app.registry.join_household(household, child, "pet")


def test_the_access_log_detects_tampering(app, world):
    person, partner = world["person"], world["partner"].id
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation"])
    app.consents.give(person, "employment-support")
    for _ in range(4):
        app.gate.disclose(partner, "employment-support", [person], ["occupation"])
    app.audit.checkpoint()
    assert app.audit.verify().intact
    with app.store.engine.begin() as conn:
        conn.execute(update(access_log).where(access_log.c.seq == 2).values(
            body={"recipient": "someone-else", "person": person}))
    report = app.audit.verify()
    assert not report.intact and any("entry 2 was edited" in p for p in report.problems)


def _registered(app, org, **facts) -> str:
    pid = app.registry.add_person()
    app.registry.record(org, pid, [{"attribute": k, "value": v} for k, v in facts.items()])
    return pid


def test_a_twin_with_another_given_name_is_never_linked_automatically(app, world):
    alexander = _registered(app, world["hmrc"], given_name="Alexander", family_name="Llewellyn-Jones",
                            date_of_birth="2004-07-19", postcode="CF10 1AA")
    r = app.resolver
    sister = r.resolve({"given_name": "Alexandra", "family_name": "Llewellyn-Jones",
                        "date_of_birth": "2004-07-19", "postcode": "CF10 1AA"})
    assert sister.person is None and sister.method == "review"
    assert [c.person for c in sister.candidates] == [alexander] and sister.candidates[0].score < 96
    brother = r.resolve({"given_name": "Jon", "family_name": "Llewellyn-Jones",  # a sibling: another name
                         "date_of_birth": "2004-07-19", "postcode": "cf10 1aa"})
    assert brother.person is None
    himself = r.resolve({"given_name": "ALEXANDER", "family_name": "Llewellyn\u2013Jones",  # an en dash
                         "date_of_birth": "2004-07-19", "postcode": "cf101aa"})
    assert (himself.method, himself.person) == ("match", alexander)


def test_typographic_apostrophes_and_hyphens_are_the_plain_ones(app, world):
    siobhan = _registered(app, world["hmrc"], given_name="Siobhán", family_name="O'Brien",
                          date_of_birth="1988-03-02", postcode="BT1 5GS")
    for family in ("O\u2019Brien", "O\u2018Brien", "O\u02bcBrien", "o'brien"):
        found = app.resolver.resolve({"given_name": "Siobhán", "family_name": family,
                                      "date_of_birth": "1988-03-02", "postcode": "BT1 5GS"})
        assert (found.method, found.person) == ("match", siobhan), family
        assert found.candidates[0].why["name"] == 100.0


def test_a_wrong_answer_names_its_own_key(app, world):
    with pytest.raises(E.WrongValueTypeError) as info:
        app.questions.answer(world["person"], {"skills": "welding", "travel_radius_miles": "far"})
    (error,) = info.value.errors
    assert error["pointer"] == "/travel_radius_miles" and "integer" in error["expected"]


def test_a_batch_of_gate_checks_is_logged_entry_by_entry_and_its_chain_verifies(app, world, clock):
    """A thousand checks in one call: one answer and one chained entry each, at the batch's time;
    editing any one of them is found."""
    transit = world["transit"].id
    app.agreements.put("metro", "Metro", "fare-concession", [], "identified", 1, ["active-jobseeker"])
    people = [app.registry.add_person() for _ in range(3)]
    app.registry.record(None, people[0], [{"attribute": "jsa_claimant", "value": True}])
    app.registry.record(None, people[1], [{"attribute": "jsa_claimant", "value": False}])
    app.consents.refuse(people[2], "fare-concession")
    batch = (people * 334)[:1000]
    answers = app.gate.check(transit, "fare-concession", batch, "active-jobseeker")
    assert answers[:2] == [True, False] and isinstance(answers[2], Refusal)
    assert answers == [answers[i % 3] for i in range(1000)]
    with app.store.reader.connect() as conn:
        rows = conn.execute(select(access_log.c.seq, access_log.c.body).order_by(access_log.c.seq)).all()
    logged = [r.body for r in rows if r.body.get("channel") == "check"]
    assert [b["person"] for b in logged] == batch
    assert {b["outcome"] for b in logged[::3]} == {"answered"} and {b["outcome"] for b in logged[2::3]} == {"refused"}
    assert len({b["at"] for b in logged}) == 1
    report = app.audit.verify()
    assert report.intact, report.problems
    middle = [r.seq for r in rows if r.body.get("channel") == "check"][500]
    with app.store.engine.begin() as conn:
        conn.execute(update(access_log).where(access_log.c.seq == middle).values(
            body={**logged[500], "recipient": "someone-else"}))
    report = app.audit.verify()
    assert not report.intact and any(f"entry {middle} was edited" in p for p in report.problems)


def test_a_batch_of_gate_checks_logs_the_very_entries_one_check_at_a_time_would(app, world, clock):
    """Whoever asks in a batch gets the answers and the chain that asking person by person gives:
    the same bodies, and, chained from the same head, the same hashes; people who objected at
    different times keep their own reasons."""
    transit = world["transit"].id
    app.agreements.put("metro", "Metro", "fare-concession", [], "identified", 1, ["active-jobseeker"])
    people = [app.registry.add_person() for _ in range(5)]
    app.registry.record(None, people[0], [{"attribute": "jsa_claimant", "value": True}])
    app.registry.record(None, people[1], [{"attribute": "jsa_claimant", "value": False}])
    app.consents.refuse(people[2], "fare-concession")
    clock.advance(timedelta(days=1))
    app.consents.refuse(people[3], "fare-concession")  # people[4] has no facts: not a jobseeker
    batch = people * 3

    def checked() -> list:
        with app.store.reader.connect() as conn:
            rows = conn.execute(select(access_log.c.seq, access_log.c.prev, access_log.c.hash, access_log.c.body)
                                .order_by(access_log.c.seq)).all()
        return [r for r in rows if r.body.get("channel") == "check"]

    answers = app.gate.check(transit, "fare-concession", batch, "active-jobseeker")
    in_batch = checked()
    singly = [app.gate.check(transit, "fare-concession", [p], "active-jobseeker")[0] for p in batch]
    one_by_one = checked()[len(in_batch):]
    assert [a if isinstance(a, bool) else a.error.slug for a in answers] == \
        [a if isinstance(a, bool) else a.error.slug for a in singly] == \
        [True, False, "consent-not-given", "consent-not-given", False] * 3
    assert [r.body for r in in_batch] == [r.body for r in one_by_one]
    assert in_batch[2].body["reason"] != in_batch[3].body["reason"]  # each objection's own date
    rechained = A.chain(in_batch[0].prev, in_batch[0].seq, [r.body for r in one_by_one])
    assert [(e.seq, e.prev, e.hash) for e in rechained] == [(r.seq, r.prev, r.hash) for r in in_batch]
    assert app.audit.verify().intact
