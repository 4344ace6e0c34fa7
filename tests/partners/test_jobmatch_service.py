"""The JobMatch service accepts only requests the platform signed, and answers each key once."""

from __future__ import annotations

import base64
import secrets
import time

import orjson
import pytest
from fastapi.testclient import TestClient
from partners.jobmatch.app import Platform, create_app

from civicmoments.adapters.crypto import Signer

PROFILE = {"occupation": "textile operations manager", "skills": "teamwork", "home_area": "Leeds"}


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(secrets.token_bytes(32))


@pytest.fixture(scope="module")
def client(signer) -> TestClient:
    public = base64.b64encode(signer.public.public_bytes_raw()).decode()
    return TestClient(create_app(Platform("http://unused", None, public), postings=300, courses=20))


def post(client, signer, key: str, stamp: int | None = None, tamper: bool = False):
    body = orjson.dumps({"reference": key, "subject": "ps1_abc", "subject_type": "pseudonym",
                         "purpose": "employment-support", "agreement": {"id": "a", "version": 1}, "data": PROFILE})
    ts = str(stamp or int(time.time()))
    signature = signer.sign(ts.encode() + b"." + body)
    if tamper:
        body = body.replace(b"teamwork", b"banking")
    return client.post("/v1/profiles", content=body, headers={"X-Civic-Timestamp": ts, "X-Civic-Signature": signature})


def test_a_signed_profile_gets_a_ranked_plan_with_slots_and_income_ideas(client, signer):
    r = post(client, signer, "j1:match")
    assert r.status_code == 200
    plan = r.json()
    assert plan["radius_miles"] == 10 and plan["jobs"] and all(len(j["slots"]) == 2 for j in plan["jobs"])
    assert {o["id"] for o in plan["income"]} >= {"rent-a-room"}
    assert client.get("/v1/received").json()[-1]["attributes"] == sorted(PROFILE)


def test_a_repeat_of_a_key_gets_the_same_answer(client, signer):
    assert post(client, signer, "j2:match").json() == post(client, signer, "j2:match").json()


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"tamper": True}, "the signature does not verify"),
    ({"stamp": int(time.time()) - 3600}, "old"),
])
def test_a_request_not_signed_by_the_platform_is_refused(client, signer, kwargs, why):
    r = post(client, signer, "j3:match", **kwargs)
    assert r.status_code == 401 and why in r.json()["detail"]


def test_someone_elses_signature_is_refused(client):
    r = post(client, Signer(secrets.token_bytes(32)), "j4:match")
    assert r.status_code == 401


def test_slots_and_the_received_log_follow_the_clock_the_partner_was_started_on(signer):
    """Started on a Friday evening (``--now``), the partner offers slots on the Monday after and
    dates what it received that Friday, whatever the wall clock says; a bad start is refused."""
    from partners.clock import starting_at

    public = base64.b64encode(signer.public.public_bytes_raw()).decode()
    friday = TestClient(create_app(Platform("http://unused", None, public), postings=300, courses=20,
                                   now=starting_at("2031-02-28T18:00:00Z")))
    plan = post(friday, signer, "j5:match").json()
    assert plan["jobs"] and {s[:10] for j in plan["jobs"] for s in j["slots"]} == {"2031-03-03"}
    assert friday.get("/v1/received").json()[-1]["at"].startswith("2031-02-28T18:")
    assert starting_at("2031-02-28T19:00:00+01:00")().isoformat().startswith("2031-02-28T18:00")
    for bad, why in [("tomorrow", "RFC 3339"), ("2031-02-28T18:00:00", "RFC 3339"), ("", "RFC 3339"),
                     ("2031-02-30T18:00:00Z", "not a real instant"), ("9999-12-31T23:59:59Z", "1900 to 9000"),
                     ("0001-01-01T00:00:00+05:00", "not a real instant")]:
        with pytest.raises(ValueError, match=why):
            starting_at(bad)
