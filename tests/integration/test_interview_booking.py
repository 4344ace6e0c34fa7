"""An interview booking is held at the partner: the real JobMatch process holds each slot for one
pseudonym, the platform reserves through the privacy gate and the outbound boundary before the
journey hears of it, a taken slot is refused with the free ones offered (API and portal), a cancel
frees the slot, and each access-log entry's body hash is the hash of what JobMatch received."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from civicmoments import formats
from civicmoments.api.app import create_app
from civicmoments.engine.errors import InvalidBookingError, PartnerUnavailableError, SlotTakenError

from ..conftest import make_app
from ..e2e.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
EMPLOYER = "https://northfield.example/hr"
OCCUPATION = "textile operations manager"  # the partner's market has postings for it around Leeds
ATTRS = ["occupation", "skills", "home_area", "travel_radius_miles"]


def up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def world(db_url, clock, tmp_path):
    port = free_port()
    jobmatch = f"http://127.0.0.1:{port}"
    app = make_app(db_url, clock, settings={"demo_mode": True, "session_secret": "s" * 40,
                                            "partner_urls": {"JobMatch": f"{jobmatch}/v1/profiles"}})
    wire = tmp_path / "jobmatch-wire.log"
    proc = subprocess.Popen([sys.executable, "-m", "partners.jobmatch", "--port", str(port), "--public-key",
                             app.audit.public_key(), "--postings", "300", "--courses", "20", "--capture", str(wire)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: up(jobmatch), timeout=60)
        hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
        employer, _ = app.organisations.add("Northfield", ["https://northfield.example/*"],
                                            ["uk.gov.dwp.employment.*"])
        app.organisations.add("JobMatch", ["https://jobmatch.example/*"], ["jobmatch.*"])
        app.agreements.put("jobmatch-support", "JobMatch", "employment-support", ATTRS, "pseudonymised", 1, [])
        people = {}
        for given in ("Abe", "Cal", "Dee"):
            pid = app.registry.add_person()
            app.registry.record(hmrc, pid, [{"attribute": k, "value": v} for k, v in {
                "given_name": given, "family_name": "Ashworth", "date_of_birth": "1984-05-02",
                "home_area": "Leeds", "employment_status": "unemployed", "occupation": OCCUPATION,
                "skills": "textiles", "travel_radius_miles": 60, "employer": "Northfield"}.items()])
            app.consents.give(pid, "employment-support", channel="portal")
            app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                          "source": EMPLOYER, "id": f"n-{given}", "subject": pid,
                                          "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 42}}])
            people[given] = pid
        wait_for(lambda: app.worker.drain() >= 0 and all(app.interviews.offered(p) for p in people.values()),
                 timeout=60)
        yield {"app": app, "people": people, "jobmatch": jobmatch, "wire": wire, "proc": proc}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        app.store.close()


def received(world) -> dict[str, bytes]:
    """Every body JobMatch's server was handed, by the SHA-256 of its bytes."""
    lines = world["wire"].read_bytes().splitlines() if world["wire"].exists() else []
    return {hashlib.sha256(b).hexdigest(): b for b in (base64.b64decode(x) for x in lines)}


def reservations_logged(app, person: str) -> list[dict]:
    return [e for e in app.registry.store.log_for(person) if e.get("channel") == "reservation"]


def signed_in(app, client: TestClient, person: str) -> None:
    token = secrets.token_urlsafe(32)
    now = app.clock.now()
    app.sessions.save(hashlib.sha256(token.encode()).hexdigest(), {"person": person}, now, now + timedelta(hours=1))
    client.cookies.set("civic_session", token)


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_two_people_cannot_hold_one_slot_and_a_cancel_frees_it(world):
    app, p = world["app"], world["people"]
    job = app.interviews.offered(p["Abe"])[0]
    first, second = job["slots"]
    assert job["id"] in {j["id"] for j in app.interviews.offered(p["Cal"])}  # the same job on both plans

    booked = app.interviews.book(p["Abe"], job["id"], first)
    assert booked["status"] == "booked" and len(booked["reference"]) == 8
    with pytest.raises(SlotTakenError) as taken:
        app.interviews.book(p["Cal"], job["id"], first)
    assert taken.value.status == 409 and taken.value.free_slots == [second]
    told = httpx.get(f"{world['jobmatch']}/v1/employers/{job['employer']}/reservations").json()
    assert [e["event"] for e in told] == ["reserved"]

    # What JobMatch received is what the log says left, byte for byte; it names a pseudonym, nothing else.
    wire = received(world)
    (entry,) = [e for e in reservations_logged(app, p["Abe"]) if e["outcome"] == "disclosed"]
    body = json.loads(wire[entry["body_sha256"]])
    assert set(body) == {"subject", "subject_type", "purpose", "agreement", "action", "job", "slot", "reference"}
    assert (body["action"], body["job"], body["slot"], body["subject_type"]) == ("reserve", job["id"], first,
                                                                                 "pseudonym")
    assert told[0]["candidate"] == body["subject"] and entry["attributes"] == []
    raw = wire[entry["body_sha256"]].decode()
    for secret in (p["Abe"], "Abe", "Ashworth", "1984-05-02", OCCUPATION):
        assert secret not in raw

    app.worker.drain()
    cancelled = app.interviews.cancel(p["Abe"], job["id"], first)
    assert cancelled["status"] == "cancelled" and cancelled["reference"] == booked["reference"]
    app.worker.drain()
    steps = next(j for j in app.store.journeys_for(p["Abe"]) if j.moment == "job-loss").steps
    assert steps["interview"].result["reference"] == booked["reference"]
    assert steps["interview-cancelled"].status.value == "done"  # the journey heard it
    with pytest.raises(InvalidBookingError, match="cancelled the interview"):  # one booking per plan
        app.interviews.book(p["Abe"], job["id"], second)
    assert app.interviews.book(p["Cal"], job["id"], first)["status"] == "booked"
    app.worker.drain()
    with pytest.raises(InvalidBookingError, match="already have an interview booked"):
        app.interviews.book(p["Cal"], job["id"], second)
    told = httpx.get(f"{world['jobmatch']}/v1/employers/{job['employer']}/reservations").json()
    assert [e["event"] for e in told] == ["reserved", "cancelled", "reserved"]
    assert told[2]["candidate"] != told[0]["candidate"]


def test_the_api_answers_a_taken_slot_with_a_problem_listing_the_free_ones(world):
    app, p = world["app"], world["people"]
    _, token = app.organisations.add("Portal", ["civic://portal"], ["people:answer"])
    job = app.interviews.offered(p["Abe"])[0]
    with TestClient(create_app(app)) as client:
        h = {"Authorization": f"Bearer {token}"}
        ok = client.post(f"/v1/people/{p['Abe']}/interviews", json={"job": job["id"], "slot": job["slots"][1]},
                         headers=h)
        assert ok.status_code == 201, ok.text
        taken = client.post(f"/v1/people/{p['Dee']}/interviews", json={"job": job["id"], "slot": job["slots"][1]},
                            headers=h)
        assert taken.status_code == 409 and taken.headers["content-type"].startswith("application/problem+json")
        assert taken.json()["type"].endswith("/slot-taken") and taken.json()["free_slots"] == [job["slots"][0]]
        gone = client.post(f"/v1/people/{p['Dee']}/interviews/cancel", json={"job": job["id"],
                                                                            "slot": job["slots"][1]}, headers=h)
        assert gone.status_code == 404 and gone.json()["type"].endswith("/booking-not-held")


def test_the_portal_confirms_a_booking_offers_the_other_slots_when_taken_and_cancels(world):
    app, p = world["app"], world["people"]
    job = app.interviews.offered(p["Abe"])[0]
    first, second = job["slots"]
    app.interviews.book(p["Abe"], job["id"], first)
    with TestClient(create_app(app)) as client:
        signed_in(app, client, p["Cal"])
        page = client.get("/plan")
        assert page.status_code == 200 and "Book this interview" in page.text
        taken = client.post("/plan/book", data={"csrf_token": csrf(page.text), "slot": f"{job['id']}|{first}"})
        assert taken.status_code == 409 and "govuk-error-summary" in taken.text
        assert "Someone else has just booked" in taken.text and "Times still free for this job" in taken.text
        free = re.search(r"Times still free for this job: ([^.<]+)", taken.text).group(1)
        assert free and free != "none, choose another job"
        assert f'value="{job["id"]}|{second}"' in taken.text  # the other slots are still offered on the form

        done = client.post("/plan/book", data={"csrf_token": csrf(page.text), "slot": f"{job['id']}|{second}"})
        assert done.status_code == 200 and "Interview booked" in done.text
        reference = re.search(r'id="reference">([A-Z0-9]{8})<', done.text).group(1)
        assert formats.job_title(job["title"]) in done.text and job["employer"] in done.text
        cancel = re.search(r'href="(/plan/cancel\?[^"]+)"', done.text).group(1).replace("&amp;", "&")
        app.worker.drain()
        plan = client.get("/plan").text
        assert "Interview booked" in plan and reference in plan  # the plan shows it too

        ask = client.get(cancel)
        assert ask.status_code == 200 and "Cancel this interview" in ask.text
        gone = client.post("/plan/cancel", data={"csrf_token": csrf(ask.text), "job": job["id"], "slot": second})
        assert gone.status_code == 200 and "Interview cancelled" in gone.text and reference in gone.text
        app.worker.drain()
        assert "You cancelled your interview" in client.get("/plan").text
        seen = client.get("/access").text  # "Who saw my data" says what JobMatch was told, and how little
        assert "JobMatch was asked to hold an interview time for you, knowing you only by a reference" in seen
        assert "JobMatch was told you cancelled your interview" in seen
    told = httpx.get(f"{world['jobmatch']}/v1/employers/{job['employer']}/reservations").json()
    assert [e["event"] for e in told] == ["reserved", "reserved", "cancelled"]


def test_without_consent_a_booking_is_refused_and_nothing_leaves(world):
    app, p = world["app"], world["people"]
    job = app.interviews.offered(p["Dee"])[0]
    app.consents.withdraw(p["Dee"], "employment-support", channel="portal")
    before = received(world)
    with TestClient(create_app(app)) as client:
        signed_in(app, client, p["Dee"])
        page = client.get("/plan")
        refused = client.post("/plan/book", data={"csrf_token": csrf(page.text), "slot": f"{job['id']}|{job['slots'][0]}"})
    assert refused.status_code == 403 and "govuk-error-summary" in refused.text
    assert "Nothing was sent to JobMatch" in refused.text and "consents page" in refused.text
    assert received(world) == before
    (entry,) = reservations_logged(app, p["Dee"])
    assert (entry["outcome"], entry["rule"]) == ("refused", "consent-not-given")


def test_with_the_partner_down_nothing_is_booked_and_the_person_is_told_to_try_later(world):
    app, p = world["app"], world["people"]
    job = app.interviews.offered(p["Abe"])[0]
    world["proc"].terminate()
    world["proc"].wait(timeout=10)
    with pytest.raises(PartnerUnavailableError, match="try again later") as down:
        app.interviews.book(p["Abe"], job["id"], job["slots"][0])
    assert down.value.status == 503
    app.worker.drain()
    steps = next(j for j in app.store.journeys_for(p["Abe"]) if j.moment == "job-loss").steps
    assert steps["interview"].result is None and steps["interview"].status.value == "waiting"


def test_withdrawing_consent_frees_a_held_slot_at_the_partner(world):
    app, p = world["app"], world["people"]
    job = app.interviews.offered(p["Abe"])[0]
    booked = app.interviews.book(p["Abe"], job["id"], job["slots"][0])
    app.worker.drain()
    app.consents.withdraw(p["Abe"], "employment-support", channel="portal")
    told = httpx.get(f"{world['jobmatch']}/v1/employers/{job['employer']}/reservations").json()
    assert [e["event"] for e in told] == ["reserved", "cancelled"]
    app.worker.drain()
    steps = next(j for j in app.store.journeys_for(p["Abe"]) if j.moment == "job-loss").steps
    assert steps["interview-cancelled"].status.value == "done"
    assert steps["interview-cancelled"].result["reference"] == booked["reference"]
    wire = received(world)
    (entry,) = [e for e in reservations_logged(app, p["Abe"]) if e.get("action") == "cancel"]
    body = json.loads(wire[entry["body_sha256"]])
    assert (body["action"], body["subject"]) == ("cancel", told[0]["candidate"])
    assert app.interviews.book(p["Cal"], job["id"], job["slots"][0])["status"] == "booked"  # free for another
