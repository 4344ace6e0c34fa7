"""The transit gates answer every error as an RFC 9457 problem, as the platform does: bad requests,
unknown paths, the platform out of reach or refusing, and a dispute the platform refused. The platform
is the real one, served over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from partners.transit.app import create_app as gates

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..integration.test_partner_push_back_wire import free_port, serve

PROBLEM = "application/problem+json"


def is_problem(r, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers["content-type"]
    body = r.json()
    assert body["type"] == f"https://metro.example/problems/{slug}" and body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def platform(db_url, clock):
    app = make_app(db_url, clock)
    _, token = app.organisations.add("Metro Transit", ["https://metro.example/*"], ["metro.*", "transit:check"])
    port = free_port()
    server = serve(create_app(app), port)
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    app.store.close()


def test_bad_requests_and_unknown_paths_are_problems(platform):
    url, token = platform
    gate = TestClient(gates(url, token))
    assert "card id" in is_problem(gate.post("/v1/taps", json={}), 422, "invalid-request")["detail"]
    assert "pence" in is_problem(gate.post("/v1/taps", json={"card": "C-1", "fare_pence": "lots"}), 422,
                                 "invalid-request")["detail"]
    bad = is_problem(gate.post("/v1/taps", content=b"[1, 2", headers={"Content-Type": "application/json"}), 422,
                     "invalid-request")
    assert bad["errors"][0]["pointer"].startswith("/body")
    is_problem(gate.get("/v1/nothing-here"), 404, "not-found")
    assert "subject" in is_problem(gate.post("/v1/disputes", json={"fare_pence": 280}), 422,
                                   "invalid-request")["detail"]


def test_the_platform_refusing_or_out_of_reach_is_a_problem_that_says_to_charge_the_fare(platform):
    url, token = platform
    refused = TestClient(gates(url, "not-a-token"), raise_server_exceptions=False)
    body = is_problem(refused.post("/v1/taps", json={"card": "C-1"}), 502, "platform-error")
    assert body["platform_status"] == 401 and "charge the fare" in body["detail"]
    dispute = is_problem(refused.post("/v1/disputes", json={"subject": "p-1", "reason": "charged"}), 401,
                         "dispute-refused")
    assert dispute["dispute"].startswith("D-") and dispute["platform"]["status"] == 401
    away = TestClient(gates(f"http://127.0.0.1:{free_port()}", token), raise_server_exceptions=False)
    assert "charge the fare" in is_problem(away.post("/v1/taps", json={"card": "C-1"}), 503,
                                           "platform-unavailable")["detail"]
    ok = TestClient(gates(url, token)).post("/v1/taps", json={"card": "C-unknown"})
    assert ok.status_code == 200 and ok.json()["waived"] is False
