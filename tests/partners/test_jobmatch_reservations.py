"""JobMatch holds interview slots: one pseudonym per slot, idempotent, signed like every share,
and the employer hears of each reservation and cancellation."""

from __future__ import annotations

import base64
import secrets
import time

import orjson
import pytest
from fastapi.testclient import TestClient
from partners.jobmatch.app import Platform, create_app

from civicmoments.adapters.crypto import Signer

PROFILE = {"occupation": "textile operations manager", "skills": "textiles", "home_area": "Leeds",
           "travel_radius_miles": 60}


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(secrets.token_bytes(32))


@pytest.fixture(scope="module")
def client(signer) -> TestClient:
    public = base64.b64encode(signer.public.public_bytes_raw()).decode()
    return TestClient(create_app(Platform("http://unused", None, public), postings=300, courses=20))


def signed(client, signer, path: str, body: dict, tamper: bool = False):
    raw = orjson.dumps(body)
    ts = str(int(time.time()))
    signature = signer.sign(ts.encode() + b"." + raw)
    if tamper:
        raw = raw.replace(b"ps1_", b"ps9_")
    return client.post(path, content=raw, headers={"X-Civic-Timestamp": ts, "X-Civic-Signature": signature})


def reservation(subject: str, job: str, slot: str, action: str = "reserve") -> dict:
    return {"subject": subject, "subject_type": "pseudonym", "purpose": "employment-support",
            "agreement": {"id": "a", "version": 1}, "action": action, "job": job, "slot": slot,
            "reference": f"ref-{subject}"}


@pytest.fixture(scope="module")
def job(client, signer) -> dict:
    plan = signed(client, signer, "/v1/profiles", {"reference": "r1", "subject": "ps1_a", "subject_type": "pseudonym",
                                                   "purpose": "employment-support", "agreement": {"id": "a", "version": 1},
                                                   "data": PROFILE}).json()
    return plan["jobs"][0]


def test_two_pseudonyms_cannot_hold_one_slot_and_the_second_is_offered_the_free_ones(client, signer, job):
    first, second = job["slots"]
    r = signed(client, signer, "/v1/reservations", reservation("ps1_abe", job["id"], first))
    assert r.status_code == 200 and r.json()["status"] == "reserved"
    again = signed(client, signer, "/v1/reservations", reservation("ps1_abe", job["id"], first))
    assert again.status_code == 200 and again.json() == r.json()  # idempotent per (job, slot, pseudonym)
    taken = signed(client, signer, "/v1/reservations", reservation("ps1_cal", job["id"], first))
    assert taken.status_code == 409 and taken.headers["content-type"] == "application/problem+json"
    assert taken.json()["type"].endswith("/slot-taken") and taken.json()["free_slots"] == [second]
    told = client.get(f"/v1/employers/{job['employer']}/reservations").json()
    assert [(e["event"], e["slot"], e["candidate"]) for e in told] == [("reserved", first, "ps1_abe")]

    # a cancel frees the slot, and only its holder may cancel it
    other = signed(client, signer, "/v1/reservations", reservation("ps1_cal", job["id"], first, "cancel"))
    assert other.status_code == 404 and other.json()["type"].endswith("/not-held")
    freed = signed(client, signer, "/v1/reservations", reservation("ps1_abe", job["id"], first, "cancel"))
    assert freed.status_code == 200 and freed.json()["free_slots"] == [first, second]
    assert signed(client, signer, "/v1/reservations", reservation("ps1_cal", job["id"], first)).status_code == 200
    told = client.get(f"/v1/employers/{job['employer']}/reservations").json()
    assert [e["event"] for e in told] == ["reserved", "cancelled", "reserved"] and told[-1]["candidate"] == "ps1_cal"


def test_a_slot_the_job_does_not_offer_is_not_found(client, signer, job):
    r = signed(client, signer, "/v1/reservations", reservation("ps1_dee", job["id"], "2031-01-01T09:00:00+00:00"))
    assert r.status_code == 404 and r.json()["type"].endswith("/unknown-slot")
    r = signed(client, signer, "/v1/reservations", reservation("ps1_dee", "no-such-job", job["slots"][0]))
    assert r.status_code == 404


def test_a_reservation_not_signed_by_the_platform_is_refused(client, signer, job):
    r = signed(client, signer, "/v1/reservations", reservation("ps1_eve", job["id"], job["slots"][1]), tamper=True)
    assert r.status_code == 401 and "signature" in r.json()["detail"]
    assert all(e["candidate"] != "ps9_eve" for e in client.get(f"/v1/employers/{job['employer']}/reservations").json())
