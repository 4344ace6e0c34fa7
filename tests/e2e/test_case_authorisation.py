"""Every /v1/cases route × every staff role, over HTTP, against a table written by hand.

The table is not generated from the policy it tests. A route that is added without a row
here fails ``test_every_case_route_is_in_the_table``.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.engine.steps import PLATFORM

from ..conftest import make_app

ROLES = ("work-coach", "decision-maker", "team-leader", "auditor", "agency-partner")
ORG = {"agency-partner": "metro-transit"}  # everyone else works for the employment department

# A case in the work-coach queue of the employment department; status code per role.
MATRIX = {
    ("GET", "/v1/cases"): dict.fromkeys(ROLES, 200),
    ("GET", "/v1/cases/{case_id}"): {"work-coach": 200, "decision-maker": 403, "team-leader": 200,
                                     "auditor": 200, "agency-partner": 403},
    ("POST", "/v1/cases/{case_id}/assign"): {"work-coach": 200, "decision-maker": 403, "team-leader": 200,
                                             "auditor": 403, "agency-partner": 403},
    ("POST", "/v1/cases/{case_id}/notes"): {"work-coach": 200, "decision-maker": 403, "team-leader": 200,
                                            "auditor": 403, "agency-partner": 403},
    ("POST", "/v1/cases/{case_id}/resolve"): {"work-coach": 200, "decision-maker": 403, "team-leader": 200,
                                              "auditor": 403, "agency-partner": 403},
    ("POST", "/v1/cases/{case_id}/refer"): {"work-coach": 200, "decision-maker": 403, "team-leader": 200,
                                            "auditor": 403, "agency-partner": 403},
    ("GET", "/v1/cases/{case_id}/person"): {"work-coach": 200, "decision-maker": 403, "team-leader": 200,
                                            "auditor": 403, "agency-partner": 403},
    # an appeal is recorded against a kept reconsideration: a team leader may, and is told this is not one
    ("POST", "/v1/cases/{case_id}/appeal"): {"work-coach": 403, "decision-maker": 403, "team-leader": 422,
                                             "auditor": 403, "agency-partner": 403},
    ("GET", "/v1/cases/{case_id}/evidence"): {"work-coach": 200, "decision-maker": 403, "team-leader": 200,
                                              "auditor": 403, "agency-partner": 403},
    ("GET", "/v1/cases/{case_id}/evidence/{evidence_id}"): {"work-coach": 200, "decision-maker": 403,
                                                            "team-leader": 200, "auditor": 403,
                                                            "agency-partner": 403},
}
BODIES = {"assign": {"version": 1}, "notes": {"text": "called", "version": 1},
          "resolve": {"outcome": "contacted", "reason": "spoke to them", "version": 1},
          "refer": {"queue": "job-matching", "note": "needs matching", "version": 1},
          "appeal": {"channel": "post", "received_on": "2026-01-20"}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from civicmoments.domain.clock import FakeClock

    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('authz') / 'civic.db'}", FakeClock())
    person = app.registry.add_person({"nino": "AB123456C"})
    app.registry.record_many(PLATFORM, [(person, [{"attribute": "employment_status", "value": "unemployed",
                                                   "basis": "derived", "tier": "gold"}])])
    headers = {}
    for role in ROLES:
        app.officers.add(role, f"sub-{role}", ORG.get(role, "employment-department"), [role])
        headers[role] = {"Authorization": f"Bearer {app.officers.token(role)}"}
    yield TestClient(create_app(app)), app, headers, person
    app.store.close()


def test_every_case_route_is_in_the_table(world):
    paths = world[0].get("/openapi.json").json()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() if p.startswith("/v1/cases") for m in ops}
    assert routes == set(MATRIX)


@pytest.mark.parametrize(("method", "path", "role"), [(m, p, r) for (m, p) in MATRIX for r in ROLES])
def test_the_route_answers_each_role_as_the_table_says(world, method, path, role):
    client, app, headers, person = world
    case = app.cases.open("work-coach", person, "call the person")
    evidence = ""
    if "{evidence_id}" in path:
        evidence = app.evidence.attach(person, case.id, "note.pdf", b"%PDF-1.4\n%note\n")["id"]
    before = app.cases.get(case.id).version
    url = path.format(case_id=case.id, evidence_id=evidence)
    body = BODIES.get(path.rsplit("/", 1)[-1])
    r = client.request(method, url, json=body, headers=headers[role])
    assert r.status_code == MATRIX[(method, path)][role], r.text
    if r.status_code == 403:
        assert r.json()["type"].endswith("/not-permitted")
        assert app.cases.get(case.id).version == before  # nothing changed
