"""Case work in the staff console over HTTP (the application in process, signed in with server-side
sessions as the console's own sign-in leaves them): corrections the person asks for in the portal,
checked and resolved by an officer; and the cases API refusing a console session's change without
the session's CSRF token."""

from __future__ import annotations

import hashlib
import html
import re
import secrets
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.web.staff import DEMO_OFFICERS

from ..conftest import make_app
from ..people import known


@pytest.fixture
def world(sqlite_url, clock):
    app = make_app(sqlite_url, clock, settings={"demo_mode": True, "session_secret": "s" * 40,
                                                      "max_evidence_bytes": 200_000})
    officers = {subject: app.officers.add(name, subject, org, list(roles))
                for name, subject, org, roles in DEMO_OFFICERS}
    person = known(app, given_name="Cara", family_name="Smyth", employer="Northfield")
    api = create_app(app)
    yield {"app": app, "api": api, "officers": officers, "person": person}
    app.store.close()


def session(world, **data) -> TestClient:
    """A client whose server-side session holds ``data`` (a person, or an officer) and a CSRF token."""
    app, client = world["app"], TestClient(world["api"])
    token, now = secrets.token_urlsafe(32), app.clock.now()
    app.sessions.save(hashlib.sha256(token.encode()).hexdigest(), {**data, "csrf": secrets.token_urlsafe(24)},
                      now, now + timedelta(hours=1))
    client.cookies.set("civic_session", token)
    return client


def officer(world, subject: str) -> TestClient:
    return session(world, officer=world["officers"][subject].id)


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def ask_correction(world, attribute: str, details: str) -> str:
    """The person says a fact is wrong, from the portal; returns the correction case it opens."""
    app, person = world["app"], world["person"]
    portal = session(world, person=person)
    form = portal.get(f"/data/correct/{attribute}")
    sent = portal.post(f"/data/correct/{attribute}", data={"csrf_token": csrf(form.text), "details": details})
    assert sent.status_code == 200 and "An officer will check it" in sent.text
    app.worker.drain()
    (case,) = app.cases.list(queue="correction", person=person)
    assert case.journey is not None and case.data["request"] == {"attribute": attribute, "details": details}
    return case.id


def messages(world, template: str) -> list[dict]:
    return [m for m in world["app"].messenger.of_person(world["person"], reveal=True) if m["template"] == template]


def test_a_correction_accepted_by_an_officer_is_a_verified_fact_from_them_and_the_person_is_told(world):
    app, person = world["app"], world["person"]
    case_id = ask_correction(world, "family_name", "My surname is Smith, not Smyth")
    wc = officer(world, "demo-work-coach")
    page = wc.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200 and "My surname is Smith, not Smyth" in page.text
    assert 'id="corrected-value"' in page.text and 'id="basis"' in page.text

    done = wc.post(f"/staff/cases/{case_id}/resolve", data={
        "csrf_token": csrf(page.text), "version": version(page.text), "outcome": "accepted", "value": "Smith",
        "basis": "Passport seen at the Leeds office", "reason": "Your passport shows Smith"},
        follow_redirects=False)
    assert done.status_code == 303, done.text[:400]
    fact = app.registry.profile(person)["family_name"]
    assert (fact.value, fact.basis.value, fact.tier.value, fact.source) == ("Smith", "verified", "silver",
                                                                            "employment-department")
    case = app.cases.get(case_id)
    assert case.status.value == "resolved" and case.outcome == "accepted"
    assert case.resolved_by == world["officers"]["demo-work-coach"].id
    assert "Passport seen at the Leeds office" in case.outcome_reason
    assert any("verified fact" in n["text"] for n in case.notes)
    app.worker.drain()
    (told,) = messages(world, "correction-outcome")
    assert "corrected your record" in told["content"]["long"] and "Your passport shows Smith" in told["content"]["long"]


def test_a_correction_rejected_sends_the_person_the_reason_and_leaves_the_fact(world):
    app, person = world["app"], world["person"]
    case_id = ask_correction(world, "family_name", "It should be Smithe")
    dm = officer(world, "demo-decision-maker")
    page = dm.get(f"/staff/cases/{case_id}")
    done = dm.post(f"/staff/cases/{case_id}/resolve", data={
        "csrf_token": csrf(page.text), "version": version(page.text), "outcome": "rejected", "value": "",
        "basis": "", "reason": "HM Passport Office holds Smyth"}, follow_redirects=False)
    assert done.status_code == 303
    assert app.registry.profile(person)["family_name"].value == "Smyth"
    app.worker.drain()
    (told,) = messages(world, "correction-outcome")
    assert "did not change your record" in told["content"]["long"]
    assert "HM Passport Office holds Smyth" in told["content"]["long"]


def test_accepting_a_correction_without_the_value_or_what_was_checked_is_an_error_summary(world):
    app = world["app"]
    case_id = ask_correction(world, "family_name", "Smith")
    wc = officer(world, "demo-work-coach")
    page = wc.get(f"/staff/cases/{case_id}")
    refused = wc.post(f"/staff/cases/{case_id}/resolve", data={
        "csrf_token": csrf(page.text), "version": version(page.text), "outcome": "accepted", "value": " ",
        "basis": "", "reason": "Fine"})
    assert refused.status_code == 422
    assert "govuk-error-summary" in refused.text and "Enter the right value" in refused.text
    assert "Enter what you checked" in refused.text
    assert app.cases.get(case_id).status.value == "open"
    assert app.registry.profile(world["person"])["family_name"].value == "Smyth"


def test_a_correction_accepted_through_the_api_is_the_same_verified_fact_and_the_person_is_told(world):
    app, person = world["app"], world["person"]
    case_id = ask_correction(world, "family_name", "My surname is Smith, not Smyth")
    api = TestClient(world["api"], headers={"Authorization": f"Bearer {app.officers.token('Wanda Coach')}"})
    seen = api.get(f"/v1/cases/{case_id}").json()["version"]

    done = api.post(f"/v1/cases/{case_id}/resolve", json={
        "version": seen, "outcome": "accepted", "reason": "Your passport shows Smith", "value": "Smith",
        "basis": "Passport seen at the Leeds office"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved" and "Passport seen at the Leeds office" in done.json()["outcome_reason"]
    fact = app.registry.profile(person)["family_name"]
    assert (fact.value, fact.basis.value, fact.tier.value, fact.source) == ("Smith", "verified", "silver",
                                                                            "employment-department")
    case = app.cases.get(case_id)
    assert case.resolved_by == world["officers"]["demo-work-coach"].id
    assert [e.action for e in case.timeline][-2:] == ["note", "resolved"]
    app.worker.drain()
    (told,) = messages(world, "correction-outcome")
    assert "corrected your record" in told["content"]["long"] and "Your passport shows Smith" in told["content"]["long"]


@pytest.mark.parametrize("change, slug, status", [
    ({"value": None}, "invalid-case-request", 422),  # accepting without the right value
    ({"basis": " "}, "invalid-case-request", 422),  # nor what was checked
    ({"version": 0}, "case-version-conflict", 409),  # a stale version: nothing is written first
])
def test_accepting_a_correction_through_the_api_without_what_it_needs_writes_nothing(world, change, slug, status):
    app, person = world["app"], world["person"]
    case_id = ask_correction(world, "family_name", "Smith")
    api = TestClient(world["api"], headers={"Authorization": f"Bearer {app.officers.token('Wanda Coach')}"})
    seen = api.get(f"/v1/cases/{case_id}").json()["version"]
    body = {"version": seen, "outcome": "accepted", "reason": "Fine", "value": "Smith", "basis": "Passport", **change}
    refused = api.post(f"/v1/cases/{case_id}/resolve", json=body)
    assert refused.status_code == status and refused.json()["type"].endswith(f"/{slug}"), refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert app.cases.get(case_id).status.value == "open" and len(app.cases.get(case_id).timeline) == 1
    assert app.registry.profile(person)["family_name"].value == "Smyth"


def test_a_console_session_needs_the_csrf_token_to_change_a_case_through_the_api_and_a_bearer_token_does_not(world):
    app = world["app"]
    case = app.cases.open("decision-review", world["person"], "A refusal to check")
    dm = officer(world, "demo-decision-maker")
    token = csrf(dm.get("/staff/queues").text)

    refused = dm.post(f"/v1/cases/{case.id}/notes", json={"text": "Looked", "version": case.version})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/csrf-token-missing")
    wrong = dm.post(f"/v1/cases/{case.id}/notes", json={"text": "Looked", "version": case.version},
                    headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    assert app.cases.get(case.id).version == case.version  # nothing changed

    assert dm.get(f"/v1/cases/{case.id}").status_code == 200  # a read needs no token
    ok = dm.post(f"/v1/cases/{case.id}/notes", json={"text": "Looked", "version": case.version},
                 headers={"X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json()["version"] == case.version + 1

    bearer = TestClient(world["api"]).post(
        f"/v1/cases/{case.id}/notes", json={"text": "Again", "version": case.version + 1},
        headers={"Authorization": f"Bearer {app.officers.token('Dev Decider')}"})
    assert bearer.status_code == 200 and bearer.json()["version"] == case.version + 2


def test_an_upheld_review_gives_the_right_to_reconsideration_then_of_appeal_and_a_recorded_appeal_returns_to_its_journey(world):
    from civicmoments.web.decisions import request_reconsideration

    from .test_engine_flow import LOW_PAY, job_ended

    app = world["app"]
    employer, _ = app.organisations.add("Employer", ["https://e.example/hr"], ["uk.gov.dwp.*"])
    known(app, "rae", employer="Employer", given_name="Rae", family_name="Jones", **LOW_PAY)
    app.intake.submit(employer, [job_ended("rae", "n-rae", class1_contribution_years=0)])
    app.worker.drain()
    (review,) = app.cases.list(queue="decision-review", person="rae")

    def resolve(subject, case_id, outcome, reason):
        client = officer(world, subject)
        page = client.get(f"/staff/cases/{case_id}")
        done = client.post(f"/staff/cases/{case_id}/resolve", data={
            "csrf_token": csrf(page.text), "version": version(page.text), "outcome": outcome, "reason": reason},
            follow_redirects=False)
        assert done.status_code == 303, done.text[:500]
        app.worker.drain()

    def told(template):
        (m,) = [m for m in app.messenger.of_person("rae", reveal=True) if m["template"] == template]
        return m["content"]["long"]

    resolve("demo-decision-maker", review.id, "upheld", "No contributions were paid in either tax year")
    notice = told("review-outcome")  # the clock says 5 January 2026: one month on is 5 February 2026
    assert "mandatory reconsideration" in notice and "5 February 2026" in notice
    assert "No contributions were paid" in notice

    request_reconsideration(app, "rae", review.id, "I paid stamps", "portal")
    app.worker.drain()
    (mr,) = app.cases.list(queue="mandatory-reconsideration", person="rae")
    resolve("demo-decision-maker-2", mr.id, "upheld", "HMRC's record shows no contributions")
    notice = told("reconsideration-outcome")
    assert "appeal to an independent tribunal" in notice and "5 February 2026" in notice

    app.clock.advance(timedelta(days=15))  # 20 January 2026: the tribunal has the appeal
    dm = officer(world, "demo-decision-maker")
    page = dm.get(f"/staff/cases/{mr.id}")
    assert 'id="appeal"' in page.text
    bad = dm.post(f"/staff/cases/{mr.id}/appeal", data={"csrf_token": csrf(page.text), "received_on": "soon"})
    assert bad.status_code == 422 and "Select how the appeal reached us" in bad.text
    assert "Enter the date the tribunal received the appeal" in bad.text
    recorded = dm.post(f"/staff/cases/{mr.id}/appeal", data={
        "csrf_token": csrf(page.text), "channel": "post", "received_on": "2026-01-20", "reference": "SC242/26/01234"},
        follow_redirects=False)
    assert recorded.status_code == 303
    assert any("Appeal to the tribunal recorded" in n["text"] and "SC242/26/01234" in n["text"]
               for n in app.cases.get(mr.id).notes)
    again = dm.post(f"/staff/cases/{mr.id}/appeal", data={
        "csrf_token": csrf(page.text), "channel": "post", "received_on": "2026-01-20"})
    assert again.status_code == 409
    app.worker.drain()
    (appeal,) = app.cases.list(queue="appeal", person="rae")
    (journey,) = [j for j in app.store.journeys_for("rae") if j.moment == "appeal"]
    assert appeal.journey == journey.id and journey.steps["tribunal"].status.value == "waiting"

    resolve("demo-decision-maker", appeal.id, "overturned", "The tribunal found two qualifying years")
    (journey,) = [j for j in app.store.journeys_for("rae") if j.moment == "appeal"]
    assert journey.steps["tribunal"].result["outcome"] == "overturned"
    assert journey.steps["award"].status.value == "done"
    assert "allowed your appeal" in told("appeal-outcome")


def test_an_appeal_is_not_recorded_against_a_case_that_is_not_a_kept_reconsideration(world):
    app = world["app"]
    case = app.cases.open("decision-review", world["person"], "A refusal")
    dm = officer(world, "demo-decision-maker")
    page = dm.get(f"/staff/cases/{case.id}")
    assert 'id="appeal"' not in page.text
    refused = dm.post(f"/staff/cases/{case.id}/appeal", data={
        "csrf_token": csrf(page.text), "channel": "post", "received_on": "2026-01-20"})
    assert refused.status_code == 422 and "kept the decision" in refused.text
    coach = officer(world, "demo-work-coach")
    assert coach.post(f"/staff/cases/{case.id}/appeal", data={
        "csrf_token": csrf(coach.get("/staff/queues").text), "channel": "post",
        "received_on": "2026-01-20"}).status_code == 403
    assert not [j for j in app.store.journeys_for(world["person"]) if j.moment == "appeal"]


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def test_a_person_attaches_a_document_checked_by_its_bytes_sealed_at_rest_and_the_officer_opens_it(world):
    from sqlalchemy import select

    from civicmoments.adapters.store.schema import case_evidence

    app, person = world["app"], world["person"]
    case = app.cases.open("correction", person, "Their name is wrong")
    other = app.cases.open("correction", known(app), "Someone else's")
    portal = session(world, person=person)
    listing = portal.get("/evidence")
    assert listing.status_code == 200 and f'href="/evidence/{case.id}"' in listing.text
    assert other.id not in listing.text
    page = portal.get(f"/evidence/{case.id}")
    assert 'class="govuk-file-upload' in page.text and 'enctype="multipart/form-data"' in page.text
    token = csrf(page.text)

    def send(name, data, case_id=case.id):
        files = {"document": (name, data, "application/pdf")} if name else {"document": ("", b"", "application/pdf")}
        return portal.post(f"/evidence/{case_id}", data={"csrf_token": token}, files=files, follow_redirects=False)

    for name, data, status, words in (
            (None, b"", 400, "Select a file"),
            ("payslip.pdf", b"MZ\x90\x00 this is a program, not a payslip", 400, "must be a PDF, JPG or PNG"),
            ("empty.pdf", b"", 400, "The selected file is empty"),
            ("huge.pdf", PDF + b"0" * 200_000, 413, "must be smaller than 0.2MB")):
        refused = send(name, data)
        assert refused.status_code == status, (name, refused.status_code)
        assert "govuk-error-summary" in refused.text and words in refused.text and 'href="#document"' in refused.text
    assert portal.post(f"/evidence/{case.id}", data={"csrf_token": "wrong"},
                       files={"document": ("a.pdf", PDF, "application/pdf")}).status_code == 400
    assert send("a.pdf", PDF, other.id).status_code == 303  # not their case: back to the list, nothing kept
    assert app.evidence.listed(other.id) == []

    assert send("payslip.pdf", PDF).status_code == 200
    assert send("scan.pdf", PNG).status_code == 200  # named .pdf, but its bytes say PNG: kept as a PNG
    kept = app.evidence.listed(case.id)
    assert [(e["filename"], e["media_type"], e["size"]) for e in kept] == [
        ("payslip.pdf", "application/pdf", len(PDF)), ("scan.pdf", "image/png", len(PNG))]
    with app.store.engine.connect() as conn:
        sealed = [r.content for r in conn.execute(select(case_evidence.c.content))]
    assert len(sealed) == 2 and all(b"%PDF" not in c and b"PNG" not in c for c in sealed)
    assert [e.action for e in app.cases.get(case.id).timeline].count("evidence-added") == 2

    wc = officer(world, "demo-work-coach")
    case_page = wc.get(f"/staff/cases/{case.id}")
    assert 'id="evidence"' in case_page.text and "payslip.pdf" in case_page.text
    assert "Document attached" in case_page.text
    got = wc.get(f"/staff/cases/{case.id}/evidence/{kept[0]['id']}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf" and "attachment" in got.headers["content-disposition"]
    assert wc.get(f"/staff/cases/{other.id}/evidence/{kept[0]['id']}").status_code == 404
    (seen,) = [e for e in app.registry.store.log_for(person) if e.get("document") == kept[0]["id"]]
    assert (seen["officer"], seen["role"], seen["outcome"]) == (world["officers"]["demo-work-coach"].id,
                                                                "work-coach", "viewed")
    assert "work coach" in portal.get("/access").text
    auditor = officer(world, "demo-auditor")
    assert auditor.get(f"/staff/cases/{case.id}/evidence/{kept[0]['id']}").status_code == 403


def test_a_case_referred_to_the_transit_authority_shows_its_officer_only_what_the_agreement_allows(world):
    app, person = world["app"], world["person"]
    app.organisations.add("Metro Transit", ["https://metro.example/*"], ["metro.*"])
    agreed = ["given_name", "family_name", "postcode"]
    app.agreements.put("metro-fare-disputes", "Metro Transit", "fare-concession", agreed, "identified", 30)
    app.registry.record(None, person, [{"attribute": "postcode", "value": "LS1 4AP"}])
    case = app.cases.open("work-coach", person, "Disputes a bus fare")

    wc = officer(world, "demo-work-coach")
    page = wc.get(f"/staff/cases/{case.id}")
    referred = wc.post(f"/staff/cases/{case.id}/refer", data={
        "csrf_token": csrf(page.text), "version": version(page.text), "to_queue": "fare-dispute",
        "note": "Charged full fare on the 6th while holding a concession"}, follow_redirects=False)
    assert referred.status_code == 303
    (logged,) = [e for e in app.registry.store.log_for(person) if e["outcome"] == "referred"]
    metro = next(o["id"] for o in app.store.organisations() if o["name"] == "Metro Transit")
    assert (logged["recipient"], logged["case"], logged["purpose"]) == (metro, case.id, "fare-concession")

    pat = officer(world, "demo-agency-partner")
    view = pat.get(f"/staff/people/{person}")
    assert view.status_code == 200 and 'id="agreement-only"' in view.text
    assert "Cara" in view.text and "Smyth" in view.text and "LS1 4AP" in view.text
    for hidden in ("Northfield", "Date of birth", 'id="journeys"', 'id="messages"', 'id="access"', 'id="send-job"'):
        assert hidden not in view.text, hidden
    seen = [e for e in app.registry.store.log_for(person) if e.get("channel") == "staff-referral"]
    assert seen and all(e["recipient"] == metro and e["agreement"] == "metro-fare-disputes" and
                        e["officer"] == world["officers"]["demo-agency-partner"].id and set(e["attributes"]) <= set(agreed)
                        for e in seen)
    api = TestClient(world["api"]).get(f"/v1/cases/{case.id}/person", headers={
        "Authorization": f"Bearer {app.officers.token('Pat Metro')}"})
    assert api.status_code == 200 and set(api.json()["facts"]) == set(agreed)

    case_page = pat.get(f"/staff/cases/{case.id}")
    assert "Cara Smyth" in case_page.text and "Charged full fare" in case_page.text
    answered = pat.post(f"/staff/cases/{case.id}/resolve", data={
        "csrf_token": csrf(case_page.text), "version": version(case_page.text), "outcome": "accepted",
        "reason": "The concession was valid: the fare is refunded"}, follow_redirects=False)
    assert answered.status_code == 303
    timeline = app.cases.get(case.id).timeline
    assert [e.action for e in timeline] == ["opened", "referred", "resolved"]
    assert timeline[-1].actor == world["officers"]["demo-agency-partner"].id
    back = wc.get(f"/v1/cases/{case.id}")  # the referring work coach no longer sees the case: it left their queue
    assert back.status_code == 403
    words = session(world, person=person).get("/access").text
    assert "Your case was passed to Metro Transit" in words


def test_without_an_agreement_the_partner_officer_sees_nothing_and_the_refusal_is_logged(world):
    app, person = world["app"], world["person"]
    app.organisations.add("Metro Transit", ["https://metro.example/*"], ["metro.*"])
    case = app.cases.open("fare-dispute", person, "A disputed fare")
    pat = officer(world, "demo-agency-partner")
    view = pat.get(f"/staff/people/{person}")
    assert view.status_code == 403 and "privacy gate refused" in view.text and "Cara" not in view.text
    assert "Cara" not in pat.get(f"/staff/cases/{case.id}").text
    refused = [e for e in app.registry.store.log_for(person) if e.get("channel") == "staff-referral"]
    assert refused and all(e["outcome"] == "refused" for e in refused)


def test_documents_and_support_records_keep_on_sqlite_and_postgresql(db_url, clock):
    app = make_app(db_url, clock)
    try:
        person = known(app, given_name="Dot")
        case = app.cases.open("correction", person, "A wrong name")
        coach = app.officers.add("Wanda Coach", "sub-wanda", "employment-department", ["work-coach"])
        kept = app.evidence.attach(person, case.id, "letter.png", PNG)
        row, data = app.evidence.read(coach, case.id, kept["id"])
        assert data == PNG and (row["media_type"], row["size"], row["channel"]) == ("image/png", len(PNG), "portal")
        app.support.record(coach, person, "commitment", {"actions": "Apply", "hours": "16", "agreed": True}, "phone")
        app.support.record(coach, person, "commitment", {"actions": "Apply twice", "hours": "20"}, "visit")
        current = app.support.current(person)["commitment"]
        assert current["data"] == {"actions": "Apply twice", "hours": 20, "agreed": False}
        assert (current["channel"], current["recorded_by"]) == ("visit", coach.id)
    finally:
        app.store.close()


def test_a_disputed_fare_shows_the_transit_officer_what_the_person_said(world):
    app, person = world["app"], world["person"]
    metro, _ = app.organisations.add("Metro Transit", ["https://metro.example/*"], ["metro.*"])
    app.agreements.put("metro-fare-disputes", "Metro Transit", "fare-concession", ["given_name"])
    (given,) = app.gate.disclose(metro.id, "fare-concession", [person], ["given_name"])
    (receipt,) = app.intake.submit(metro, [{
        "specversion": "1.0", "type": "metro.fare-disputed", "source": "https://metro.example/disputes",
        "id": "D-1", "subject": given.subject,
        "data": {"dispute": "D-1", "fare_pence": 280, "travelled_on": "2026-11-27", "station": "Leeds",
                 "reason": "Charged full fare while holding a concession"}}])
    assert receipt.status == "accepted"
    while app.worker.run_once():
        pass
    (case,) = [c for c in app.cases.list(person=person) if c.queue == "fare-dispute"]
    page = officer(world, "demo-agency-partner").get(f"/staff/cases/{case.id}")
    assert page.status_code == 200
    inset = re.search(r'id="fare-dispute">([^<]+)<', page.text).group(1)
    assert inset == ("The transit authority's dispute D-1: a fare of £2.80 on 2026-11-27 at Leeds. "
                     "The person says: Charged full fare while holding a concession")


def kept_reconsideration(world) -> str:
    """A mandatory reconsideration that kept the decision, decided by the second decision maker."""
    app = world["app"]
    case = app.cases.open("mandatory-reconsideration", world["person"], "The person asked us to look again")
    return app.cases.resolve(case.id, world["officers"]["demo-decision-maker-2"], "upheld", "The record stands",
                             case.version).id


def test_an_appeal_is_recorded_through_the_api_once_and_opens_its_appeal_case(world):
    app, person = world["app"], world["person"]
    case_id = kept_reconsideration(world)
    api = TestClient(world["api"], headers={"Authorization": f"Bearer {app.officers.token('Dev Decider')}"})

    bad = api.post(f"/v1/cases/{case_id}/appeal", json={"channel": "pigeon", "received_on": "soon"})
    assert bad.status_code == 422 and bad.json()["type"].endswith("/invalid-case-request")
    assert "Select how the appeal reached us (post, phone, online, assisted)" in bad.json()["detail"]
    assert "Enter the date the tribunal received the appeal" in bad.json()["detail"]
    done = api.post(f"/v1/cases/{case_id}/appeal", json={"channel": "post", "received_on": "2026-01-05",
                                                         "reference": "SC242/26/01234"})
    assert done.status_code == 200, done.text
    assert any("Appeal to the tribunal recorded (By post, received 2026-01-05): SC242/26/01234" == n["text"]
               for n in done.json()["notes"])
    again = api.post(f"/v1/cases/{case_id}/appeal", json={"channel": "post", "received_on": "2026-01-05"})
    assert again.status_code == 409 and again.json()["type"].endswith("/appeal-already-recorded")
    app.worker.drain()
    (appeal,) = app.cases.list(queue="appeal", person=person)
    assert appeal.data["first_reviewer"] == world["officers"]["demo-decision-maker-2"].id

    coach = TestClient(world["api"], headers={"Authorization": f"Bearer {app.officers.token('Wanda Coach')}"})
    refused = coach.post(f"/v1/cases/{case_id}/appeal", json={"channel": "post", "received_on": "2026-01-05"})
    assert refused.status_code == 403 and refused.json()["type"].endswith("/not-permitted")


def test_the_documents_on_a_case_are_listed_and_read_through_the_api_into_the_access_log(world):
    app, person = world["app"], world["person"]
    case = app.cases.open("decision-review", person, "A refusal to check")
    attached = app.evidence.attach(person, case.id, "payslip.png", PNG)
    api = TestClient(world["api"], headers={"Authorization": f"Bearer {app.officers.token('Dev Decider')}"})

    (listed,) = api.get(f"/v1/cases/{case.id}/evidence").json()["items"]
    assert (listed["id"], listed["filename"], listed["media_type"], listed["size"]) == (
        attached["id"], "payslip.png", "image/png", len(PNG)) and "content" not in listed
    read = api.get(f"/v1/cases/{case.id}/evidence/{attached['id']}")
    assert read.status_code == 200 and read.content == PNG and read.headers["content-type"] == "image/png"
    assert 'filename="payslip.png"' in read.headers["content-disposition"]
    assert any(attached["id"] in str(e) for e in app.registry.store.log_for(person))

    missing = api.get(f"/v1/cases/{case.id}/evidence/nothing-here")
    assert missing.status_code == 404 and missing.json()["type"].endswith("/case-not-found")
    coach = TestClient(world["api"], headers={"Authorization": f"Bearer {app.officers.token('Wanda Coach')}"})
    assert coach.get(f"/v1/cases/{case.id}/evidence").status_code == 403


def test_words_over_the_limit_are_refused_with_an_error_not_cut_short(world):
    """What a person writes about a wrong fact or a decision is kept whole or refused with a GOV.UK error,
    the words still in the box; it is never cut short without telling them."""
    app, person = world["app"], world["person"]
    portal = session(world, person=person)
    long = "My payslips show it. " + "x" * 2000
    form = portal.get("/data/correct/postcode")
    sent = portal.post("/data/correct/postcode", data={"csrf_token": csrf(form.text), "details": long})
    assert sent.status_code == 400 and "2000 characters or fewer" in sent.text and long in sent.text
    case = app.cases.open("decision-review", person, "refused by the rules", key="long-words")
    app.cases.resolve(case.id, world["officers"]["demo-decision-maker"], "upheld", "no contributions", case.version)
    page = portal.get(f"/decisions/{case.id}/reconsider")
    sent = portal.post(f"/decisions/{case.id}/reconsider", data={"csrf_token": csrf(page.text), "why": long},
                       follow_redirects=False)
    assert sent.status_code == 400 and "2000 characters or fewer" in sent.text and long in sent.text
    app.worker.drain()
    assert not app.cases.list(person=person, queue="correction")
    assert not app.cases.list(person=person, queue="mandatory-reconsideration")


def test_an_appeal_received_in_the_future_or_with_a_reference_too_long_is_refused_and_nothing_recorded(world):
    from civicmoments.domain.cases import InvalidCaseRequestError

    app, person = world["app"], world["person"]
    dm = world["officers"]["demo-decision-maker-2"]
    mr = app.cases.open("mandatory-reconsideration", person, "asked to look again", key="mr-future")
    mr = app.cases.resolve(mr.id, dm, "upheld", "the record is right", mr.version)
    tomorrow = (app.clock.now() + timedelta(days=1)).date().isoformat()
    with pytest.raises(InvalidCaseRequestError, match="today or before"):
        app.appeals.record(mr.id, dm, "post", tomorrow)
    with pytest.raises(InvalidCaseRequestError, match="40 characters or fewer"):
        app.appeals.record(mr.id, dm, "post", app.clock.now().date().isoformat(), "SC242/26/01234" * 3)
    assert not app.cases.get(mr.id).notes and not app.cases.list(person=person, queue="appeal")
    console = officer(world, "demo-decision-maker-2")
    page = console.get(f"/staff/cases/{mr.id}")
    sent = console.post(f"/staff/cases/{mr.id}/appeal", data={
        "csrf_token": csrf(page.text), "channel": "post", "received_on": tomorrow})
    assert sent.status_code == 422 and "today or before" in sent.text


def test_asking_again_names_the_service_in_welsh(world):
    app, person = world["app"], world["person"]
    case = app.cases.open("decision-review", person, "refused by the rules", key="welsh-words")
    app.cases.resolve(case.id, world["officers"]["demo-decision-maker"], "upheld", "no contributions", case.version)
    portal = session(world, person=person, lang="cy")
    page = html.unescape(portal.get(f"/decisions/{case.id}/reconsider").text)
    assert "Lwfans Ceisio Gwaith Dull Newydd" in page and "New Style Jobseeker" not in page


def test_a_long_file_name_is_shortened_keeping_its_type_and_the_console_wraps_it(world):
    app, person = world["app"], world["person"]
    case = app.cases.open("work-coach", person, "welcome call", key="long-name")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    app.evidence.attach(person, case.id, "payslip-" + "n" * 400 + ".pdf", pdf)
    (doc,) = app.evidence.of_case(None, case.id)
    assert len(doc["filename"]) <= 200 and doc["filename"].startswith("payslip-nnn") and doc["filename"].endswith(".pdf")
    page = officer(world, "demo-work-coach").get(f"/staff/cases/{case.id}").text
    assert 'class="govuk-list govuk-!-text-break-word" id="evidence"' in page
