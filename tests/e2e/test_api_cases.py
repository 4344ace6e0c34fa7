"""/v1/cases over HTTP, as officers with their own tokens: scoping, conflicts, problems, the single view."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.engine.steps import PLATFORM

from ..conftest import make_app

PROBLEM = "application/problem+json"


@pytest.fixture
def world(sqlite_url, clock):
    app = make_app(sqlite_url, clock, settings={"oidc_client_secret": "test-client-secret"})  # the words of "Who saw my data"
    person = app.registry.add_person({"nino": "AB123456C"})
    app.registry.record_many(PLATFORM, [(person, [{"attribute": "employment_status", "value": "unemployed",
                                                   "basis": "derived", "tier": "gold"}])])
    tokens = {}
    for name, org, role in [("dm", "employment-department", "decision-maker"),
                            ("dm2", "employment-department", "decision-maker"),
                            ("coach", "employment-department", "work-coach"),
                            ("metro", "metro-transit", "agency-partner")]:
        app.officers.add(name, f"sub-{name}", org, [role])
        tokens[name] = {"Authorization": f"Bearer {app.officers.token(name)}"}
    review = app.cases.open("decision-review", person, "refused", journey="j1", step="review")
    coach = app.cases.open("work-coach", person, "call the person")
    client = TestClient(create_app(app))
    yield client, app, tokens, person, review, coach
    app.store.close()


def test_an_officer_lists_only_the_queues_they_may_see_a_page_at_a_time(world):
    client, app, t, person, review, coach = world
    for i in range(3):
        app.cases.open("work-coach", f"p{i}", "call")
    r = client.get("/v1/cases", params={"limit": 2}, headers=t["coach"])
    assert r.status_code == 200
    body = r.json()
    assert len(body["items"]) == 2 and body["next"]
    rest = client.get("/v1/cases", params={"limit": 2, "cursor": body["next"]}, headers=t["coach"]).json()
    assert {c["queue"] for c in body["items"] + rest["items"]} == {"work-coach"}
    assert len(body["items"] + rest["items"]) == 4 and rest["next"] is None
    mine = client.get("/v1/cases", params={"person": person, "status": "open"}, headers=t["dm"]).json()
    assert [c["id"] for c in mine["items"]] == [review.id]


def test_without_an_officer_token_the_answer_is_401(world):
    client, *_ = world
    r = client.get("/v1/cases")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert client.get("/v1/cases", headers={"Authorization": "Bearer cm_x_y"}).status_code == 401


def test_acting_outside_ones_queues_or_organisation_is_403_and_logged(world, capsys):
    import structlog

    from civicmoments.engine import cases

    client, app, t, person, review, coach = world
    structlog.reset_defaults()  # log to this test's captured output, whatever level earlier commands configured
    cases.log.__dict__.pop("bind", None)
    for who in ("coach", "metro"):
        r = client.post(f"/v1/cases/{review.id}/resolve", json={"outcome": "upheld", "reason": "x", "version": 1},
                        headers=t[who])
        assert r.status_code == 403 and r.json()["type"].endswith("/not-permitted")
    assert client.get(f"/v1/cases/{review.id}", headers=t["coach"]).status_code == 403
    logged = capsys.readouterr()
    assert "staff action refused" in logged.out + logged.err
    assert app.cases.get(review.id).version == 1


def test_resolve_then_resolve_again_names_who_and_when(world):
    client, app, t, person, review, _ = world
    r = client.post(f"/v1/cases/{review.id}/resolve",
                    json={"outcome": "overturned", "reason": "contributions missed", "version": 1}, headers=t["dm"])
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = client.post(f"/v1/cases/{review.id}/resolve", json={"outcome": "upheld", "reason": "no", "version": 2},
                    headers=t["dm2"])
    assert r.status_code == 409
    p = r.json()
    dm = app.officers.get("dm")
    assert p["type"].endswith("/case-already-resolved") and p["resolved_by"] == dm.id
    assert p["resolved_at"] == "2026-01-05T09:00:00Z" and dm.id in p["detail"]


def test_a_stale_version_is_409_with_the_current_state(world):
    client, app, t, person, review, _ = world
    assert client.post(f"/v1/cases/{review.id}/assign", json={"version": 1}, headers=t["dm"]).status_code == 200
    r = client.post(f"/v1/cases/{review.id}/notes", json={"text": "late", "version": 1}, headers=t["dm2"])
    assert r.status_code == 409 and r.json()["type"].endswith("/case-version-conflict")
    assert r.json()["current"]["assignee"] == app.officers.get("dm").id and r.json()["current"]["version"] == 2


def test_bad_outcomes_long_notes_and_missing_versions_are_422(world):
    client, app, t, person, review, coach = world
    r = client.post(f"/v1/cases/{review.id}/resolve", json={"outcome": "contacted", "reason": "x", "version": 1},
                    headers=t["dm"])
    assert r.status_code == 422 and r.json()["type"].endswith("/outcome-not-allowed")
    assert "overturned" in r.json()["allowed"]
    r = client.post(f"/v1/cases/{coach.id}/notes", json={"text": "x" * 4001, "version": 1}, headers=t["coach"])
    assert r.status_code == 422 and r.json()["type"].endswith("/note-too-long")
    r = client.post(f"/v1/cases/{coach.id}/notes", json={"text": "hi"}, headers=t["coach"])
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert client.get("/v1/cases/nope", headers=t["dm"]).status_code == 404
    assert app.cases.get(coach.id).notes == []


def test_the_first_reviewer_may_not_decide_the_reconsideration(world):
    client, app, t, person, review, _ = world
    client.post(f"/v1/cases/{review.id}/resolve", json={"outcome": "upheld", "reason": "right", "version": 1},
                headers=t["dm"])
    mr = app.cases.open("mandatory-reconsideration", person, "asked again")
    r = client.post(f"/v1/cases/{mr.id}/resolve", json={"outcome": "upheld", "reason": "still", "version": 1},
                    headers=t["dm"])
    assert r.status_code == 403 and r.json()["type"].endswith("/reviewer-must-differ")
    r = client.post(f"/v1/cases/{mr.id}/resolve", json={"outcome": "upheld", "reason": "still", "version": 1},
                    headers=t["dm2"])
    assert r.status_code == 200


def test_a_referral_reaches_the_partners_officer(world):
    client, app, t, person, _, coach = world
    r = client.post(f"/v1/cases/{coach.id}/refer", json={"queue": "fare-dispute", "note": "fare", "version": 1},
                    headers=t["coach"])
    assert r.status_code == 200 and r.json()["organisation"] == "metro-transit"
    assert [c["id"] for c in client.get("/v1/cases", headers=t["metro"]).json()["items"]] == [coach.id]
    r = client.post(f"/v1/cases/{coach.id}/notes", json={"text": "refunded", "version": 2}, headers=t["metro"])
    assert [e["action"] for e in r.json()["timeline"]] == ["opened", "referred", "note"]


def test_the_single_view_goes_through_the_gate_into_the_persons_access_log(world):
    client, app, t, person, _, coach = world
    r = client.get(f"/v1/cases/{coach.id}/person", headers=t["coach"])
    assert r.status_code == 200
    assert r.json()["facts"]["employment_status"]["tier"] == "gold"
    (entry,) = [e for e in app.registry.store.log_for(person) if e["outcome"] == "viewed"]
    assert (entry["officer"], entry["role"], entry["recipient"], entry["purpose"]) == \
        (app.officers.get("coach").id, "work-coach", "employment-department", "employment-support")
    from types import SimpleNamespace

    from civicmoments.web.portal import Portal

    portal = Portal(app)  # the person's "Who saw my data", in both languages
    said = {lang: [e["text"] for e in portal._access(SimpleNamespace(session={"lang": lang}), person)]
            for lang in ("en", "cy")}
    assert "A work coach at the employment department viewed your profile, to help you back into work." \
        in said["en"]
    assert any(t.startswith("Gwelodd anogwr gwaith yn yr adran gyflogaeth") for t in said["cy"])


def test_openapi_documents_the_problems_of_every_case_route(world):
    client, *_ = world
    paths = client.get("/openapi.json").json()["paths"]
    case_paths = {p: v for p, v in paths.items() if p.startswith("/v1/cases")}
    assert len(case_paths) == 10
    for ops in case_paths.values():
        for op in ops.values():
            assert "403" in op["responses"] and PROBLEM in op["responses"]["403"]["content"]


def test_overturning_over_http_returns_the_outcome_to_the_journey_which_awards(world):
    client, app, t, *_ = world
    from ..integration.test_engine_flow import LOW_PAY, job_ended
    from ..people import known

    employer, _ = app.organisations.add("Employer", ["https://e.example/hr"], ["uk.gov.dwp.*"])
    known(app, "rae", employer="Employer", **LOW_PAY)  # one of its staff, with too little National Insurance
    app.intake.submit(employer, [job_ended("rae", "n-rae", class1_contribution_years=0)])
    app.worker.drain()
    (case,) = client.get("/v1/cases", params={"person": "rae", "queue": "decision-review"},
                         headers=t["dm"]).json()["items"]
    r = client.post(f"/v1/cases/{case['id']}/resolve",
                    json={"outcome": "overturned", "reason": "contributions were missed", "version": case["version"]},
                    headers=t["dm"])
    assert r.status_code == 200
    app.worker.drain()
    (j,) = app.store.journeys_for("rae")
    assert j.steps["review"].result["officer"] == app.officers.get("dm").id
    assert j.steps["review-award"].status.value == "done"
