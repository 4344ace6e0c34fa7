"""/v1/insights over HTTP: only the policy and performance roles; problems name what was wrong."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..integration.test_engine_flow import employer_of, job_ended

PROBLEM = "application/problem+json"
PEOPLE = [f"p{i:02d}" for i in range(12)]


@pytest.fixture
def world(sqlite_url, clock):
    app = make_app(sqlite_url, clock)
    employer = employer_of(app, *PEOPLE)
    app.intake.submit(employer, [job_ended(p, f"e-{p}") for p in PEOPLE])
    app.worker.drain()
    tokens = {}
    for name, role in [("pol", "policy"), ("perf", "performance"), ("coach", "work-coach")]:
        app.officers.add(name, f"sub-{name}", "employment-department", [role])
        tokens[name] = {"Authorization": f"Bearer {app.officers.token(name)}"}
    yield TestClient(create_app(app)), tokens
    app.store.close()


def test_a_policy_lead_reads_a_moments_measures(world):
    client, t = world
    for who in ("pol", "perf"):
        r = client.get("/v1/insights/job-loss", headers=t[who])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["journeys"] == 12 and body["versions"] == {"v1": 12}
        assert body["measures"]["experience"]["questions_per_person"] == 4.0
        assert body["measures"]["impact"]["reached_rate"] == 0.0


def test_small_cells_and_empty_periods_say_so(world):
    client, t = world
    split = client.get("/v1/insights/job-loss", params={"group": "online"}, headers=t["pol"]).json()
    assert split["groups"]["online"]["people"] == 12
    empty = client.get("/v1/insights/job-loss", params={"start": "2027-01-01"}, headers=t["pol"]).json()
    assert empty["empty"] is True and empty["measures"] is None and "no journeys" in empty["reason"]
    csv = client.get("/v1/insights/job-loss", params={"format": "csv"}, headers=t["pol"])
    assert csv.headers["content-type"].startswith("text/csv")
    assert "job-loss,all,all,all,experience,questions_per_person,4" in csv.text


@pytest.mark.parametrize("path, params, status, slug, named", [
    ("/v1/insights/job-lost", {}, 404, "unknown-moment", "job-lost"),
    ("/v1/insights/job-loss", {"version": "v7"}, 404, "unknown-moment-version", "v7"),
    ("/v1/insights/job-loss", {"group": "shoe_size"}, 422, "unknown-group", "shoe_size"),
    ("/v1/insights/job-loss", {"start": "last week"}, 422, "invalid-period", "last week"),
])
def test_bad_input_is_a_problem_naming_it(world, path, params, status, slug, named):
    client, t = world
    r = client.get(path, params=params, headers=t["pol"])
    assert r.status_code == status and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith(slug) and named in r.json()["detail"]


def test_other_roles_and_strangers_are_refused(world):
    client, t = world
    assert client.get("/v1/insights/job-loss", headers=t["coach"]).status_code == 403
    assert client.get("/v1/insights/job-loss").status_code == 401
