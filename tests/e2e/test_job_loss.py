"""The job-loss moment end to end: a real ``civic serve``, the JobMatch and transit partners as
their own processes, and everything driven through the HTTP APIs.

Abe's employer reports his redundancy in a CSV upload. He gets a notice with his New
Style JSA and jobs within 10 miles, answers the survey, gets a revised plan with more
options, books an interview, travels free, and starts a new job. Bea has not consented
to sharing: nothing about her reaches JobMatch, and she still gets a notice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from civicmoments.adapters.payments import pain001
from civicmoments.formats import job_title

from .conftest import CIVIC, civic_env, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
JOB_ENDED, JOB_STARTED = "uk.gov.dwp.employment.job-ended", "uk.gov.dwp.employment.job-started"
EMPLOYER = "https://northfield.example/hr"
ORGS = [
    ("Northfield", "https://northfield.example/*", ["uk.gov.dwp.employment.*"]),
    ("HMRC", "https://hmrc.example/*", ["people:write", "facts:identity", "facts:income", "facts:finance",
                                        "facts:address", "facts:employment", "facts:contact"]),
    ("Portal", "civic://portal", ["civic.*", "people:answer", "consents:write", "people:read", "messages:read",
                                  "messages:content", "journeys:read"]),
    ("JobMatch", "https://jobmatch.example/*", ["jobmatch.*"]),
    ("Metro", "https://metro.example/*", ["transit:check"]),
]


# The day the platform runs on (CIVIC_NOW): decisions are for this day, whatever the calendar says.
TODAY = "2026-11-23"


def weekly_rate_on(day: str, age_band: str) -> float:
    """New Style JSA's weekly rate on ``day``, read from the pack's parameters."""
    sys.path.insert(0, str(ROOT / "packs" / "uk" / "openfisca"))
    from uk_rules import build_system

    return float(getattr(build_system().parameters(day).jsa_new_style, age_band))


def abes_occupation() -> str:
    """The local occupation with the most postings within 10 miles of Leeds, in the partner's market."""
    sys.path.insert(0, str(ROOT))
    from partners.jobmatch.market import generate, haversine_miles, occupations, town

    market, leeds = generate("Leeds", 2000, 200, 7), town("Leeds")
    near = Counter(p.occupation for p in market.postings
                   if haversine_miles(leeds.lat, leeds.lon, p.lat, p.lon) <= 10)
    return occupations()[near.most_common(1)[0][0]].label


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("job-loss")
    port, jm_port, transit_port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = civic_env(tmp, CIVIC_PORT=str(port), CIVIC_PUBLIC_URL=url, CIVIC_TRANSIT_CHECKS_PER_SECOND="5",
                    CIVIC_NOW=f"{TODAY}T09:00:00Z",
                    CIVIC_PARTNER_URLS=json.dumps({"JobMatch": f"http://127.0.0.1:{jm_port}/v1/profiles"}))
    tokens = {}
    for name, source, scopes in ORGS:
        args = [a for s in scopes for a in ("--scope", s)]
        out = subprocess.run([*CIVIC, "orgs", "add", name, "--source", source, *args, "--json"], env=env,
                             capture_output=True, text=True, check=True)
        tokens[name] = json.loads(out.stdout)["token"]
    attrs = ["occupation", "skills", "home_area", "aspirations", "travel_radius_miles"]
    subprocess.run([*CIVIC, "agreements", "put", "jobmatch-support", "--recipient", "JobMatch", "--purpose",
                    "employment-support", *[a for x in attrs for a in ("--attribute", x)]], env=env, check=True,
                   capture_output=True)
    subprocess.run([*CIVIC, "agreements", "put", "metro-fares", "--recipient", "Metro", "--purpose",
                    "fare-concession", "--check", "active-jobseeker", "--mode", "identified"], env=env, check=True,
                   capture_output=True)
    subprocess.run([*CIVIC, "officers", "add", "Dara", "--subject", "sub-dara", "--organisation",
                    "employment-department", "--role", "decision-maker"], env=env, check=True, capture_output=True)
    tokens["Dara"] = subprocess.run([*CIVIC, "officers", "token", "Dara"], env=env, check=True, capture_output=True,
                                    text=True).stdout.strip()
    # The partners' clocks start where the platform's does: one calendar, whatever day the test runs.
    partner_env = {**{k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")},
                   "JOBMATCH_NOW": env["CIVIC_NOW"], "TRANSIT_NOW": env["CIVIC_NOW"]}
    procs = [spawn([*CIVIC, "serve"], env),
             spawn([sys.executable, "-m", "partners.jobmatch", "--port", str(jm_port), "--platform", url,
                    "--token", tokens["JobMatch"], "--capture", str(tmp / "jobmatch-wire.log")], partner_env),
             spawn([sys.executable, "-m", "partners.transit", "--port", str(transit_port), "--platform", url,
                    "--token", tokens["Metro"]], partner_env)]
    try:
        for u in (url, f"http://127.0.0.1:{jm_port}", f"http://127.0.0.1:{transit_port}"):
            wait_for(lambda u=u: up(u), timeout=60)
    except AssertionError:
        for p in procs:
            p.kill()
        pytest.fail("a process did not start: " + " | ".join(p.stdout.read().decode()[-800:] for p in procs))
    yield {"url": url, "tokens": tokens, "jobmatch": f"http://127.0.0.1:{jm_port}", "wire": tmp / "jobmatch-wire.log",
           "transit": f"http://127.0.0.1:{transit_port}", "env": env}
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)


def auth(world, org):
    return {"Authorization": f"Bearer {world['tokens'][org]}"}


def person(world, given: str, occupation: str, skills: str, **more) -> str:
    url = world["url"]
    pid = httpx.post(f"{url}/v1/people", json={}, headers=auth(world, "HMRC")).json()["id"]
    facts = {"given_name": given, "family_name": "Ashworth", "date_of_birth": "1984-05-02", "home_area": "Leeds",
             "postcode": "LS1 4AP", "address_line_1": "12 Park Row", "town": "Leeds",
             "employment_status": "unemployed", "occupation": occupation, "skills": skills,
             "employer": "Northfield",  # its own staff: Northfield may report their job ending
             "class1_earnings_last_year_pence": 3_100_000, "class1_earnings_year_before_pence": 2_950_000, **more}
    r = httpx.post(f"{url}/v1/people/{pid}/facts", headers=auth(world, "HMRC"),
                   json=[{"attribute": k, "value": v} for k, v in facts.items()])
    assert r.status_code == 201, r.text
    return pid


def journey(world, pid: str, moment: str = "job-loss") -> dict | None:
    r = httpx.get(f"{world['url']}/v1/journeys", params={"person": pid}, headers=auth(world, "Portal"))
    found = [j for j in r.json() if j["moment"] == moment] if r.status_code == 200 else []
    if not found:
        return None
    return httpx.get(f"{world['url']}/v1/journeys/{found[0]['id']}", headers=auth(world, "Portal")).json()


def messages(world, pid: str) -> dict[str, dict]:
    r = httpx.get(f"{world['url']}/v1/people/{pid}/messages", params={"content": "true"},
                  headers=auth(world, "Portal"))
    return {m["template"]: m for m in r.json()}


def step(found: dict, name: str) -> dict:
    return found["steps"][name]


def received(world) -> list[bytes]:
    """Every request body JobMatch's server was handed, byte for byte, as it arrived."""
    import base64

    path = world["wire"]
    return [base64.b64decode(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_abe_from_redundancy_to_a_new_job(world):
    url = world["url"]
    occupation = abes_occupation()
    abe = person(world, "Abe", occupation, "customer service, teamwork", bank_account="20-00-00 55779911")
    assert httpx.put(f"{url}/v1/people/{abe}/consents/employment-support", params={"channel": "portal"},
                     headers=auth(world, "Portal")).status_code == 201
    csv = ("notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"
           f"N-{uuid.uuid4()},{abe},redundancy,2026-11-20,42,2,{occupation}\n"
           f"N-{uuid.uuid4()},{abe}-x,redundancy,20/11/2026,42,2,{occupation}\n")
    r = httpx.post(f"{url}/v1/events", params={"type": JOB_ENDED, "source": EMPLOYER}, content=csv,
                   headers={**auth(world, "Northfield"), "Content-Type": "text/csv"})
    assert r.status_code == 207, r.text
    good, bad = r.json()["results"]
    assert good["status"] == "accepted" and bad["status"] == "rejected"
    assert "last_day" in bad["problem"]["detail"]

    notice = wait_for(lambda: messages(world, abe).get("notice-of-assistance"), timeout=60)
    text = notice["content"]["long"]
    rate = weekly_rate_on(TODAY, "rate_25_or_over")  # Abe is 42: the 2026/27 rate for 25 or over
    assert rate > 92.05  # not the 2025/26 figure carried forward
    assert f"New Style Jobseeker's Allowance of £{rate:.2f} a week" in text
    found = journey(world, abe)
    assert step(found, "award")["status"] == "done"  # every input gold: no claim needed
    # the first payment: two weeks in arrears from today (Monday 23 November), into the account HMRC holds
    first_pence = round(rate * 100) * 2
    assert (f"Your first payment of £{first_pence / 100:.2f} will be paid on 7 December 2026 into your account "
            "ending 9911") in text and "55779911" not in text
    paid = subprocess.run([*CIVIC, "payments", "run", "--date", "2026-12-07", "--json"], env=world["env"],
                          capture_output=True, text=True, timeout=120)
    assert paid.returncode == 0, paid.stderr
    run = json.loads(paid.stdout)
    (file_ref,) = run["files"]
    txs = pain001.read(Path(run["folder"]) / f"{file_ref}.xml")  # validates against pain.001.001.03
    assert [(t["amount"], t["sort_code"], t["account"][-4:]) for t in txs] == [(first_pence, "200000", "9911")]
    first = step(found, "match")["result"]
    jobs = first["jobs"]
    assert len(jobs) >= 5 and all(j["miles"] <= 10 for j in jobs)
    assert [j["fit"] for j in jobs] == sorted((j["fit"] for j in jobs), reverse=True)
    near = re.compile(r"(less than a mile|\d+ miles?) away")  # distances in words, as people read them
    assert all(j["why"] and near.search(j["why"]) for j in jobs)
    assert sum(1 for line in text.splitlines() if line.startswith("- ") and near.search(line)) == 5
    assert job_title(jobs[0]["title"]) in text  # titles as published, with a capital letter

    answers = {"aspirations": "nurse caring for patients in hospital", "travel_radius_miles": 20,
               "bank_account": "20-00-00 55779911"}
    r = httpx.post(f"{url}/v1/people/{abe}/answers", json=answers, headers=auth(world, "Portal"))
    assert r.status_code == 201, r.text
    plan = wait_for(lambda: messages(world, abe).get("return-to-work-plan"), timeout=60)
    revised = step(journey(world, abe), "rematch")["result"]
    assert revised["options"] > first["options"] and revised["radius_miles"] == 20
    assert revised["paths"] and f"{revised['options']} options, up from {first['options']}" in plan["content"]["long"]

    assert "/travel" in messages(world, abe)["transit-entitlement"]["content"]["short"]
    card = "METRO-CARD-0042"
    r = httpx.post(f"{url}/v1/people/{abe}/travel-tokens", json={"token": card}, headers=auth(world, "Portal"))
    assert r.status_code == 201, r.text
    tap = httpx.post(f"{world['transit']}/v1/taps", json={"card": card}).json()
    assert tap["waived"] is True and tap["charged_pence"] == 0 and tap["at"].startswith(TODAY)

    offered = httpx.get(f"{url}/v1/people/{abe}/interviews/offered", headers=auth(world, "Portal")).json()
    job = offered[0]
    assert all(s.startswith("2026-11-24T") for s in job["slots"])  # the working day after TODAY (a Monday)
    r = httpx.post(f"{url}/v1/people/{abe}/interviews", json={"job": job["job"], "slot": job["slots"][0]},
                   headers=auth(world, "Portal"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "booked" and len(r.json()["reference"]) == 8
    told = httpx.get(f"{world['jobmatch']}/v1/employers/{job['employer']}/reservations").json()
    assert [(e["event"], e["job"], e["slot"]) for e in told] == [("reserved", job["job"], job["slots"][0])]
    invitation = wait_for(lambda: messages(world, abe).get("interview-invitation"), timeout=60)
    assert job_title(job["title"]) in invitation["content"]["subject"]
    ics = httpx.get(r.json()["calendar"])
    assert ics.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content and job["employer"].encode() in ics.content

    r = httpx.post(f"{url}/v1/events", headers={**auth(world, "Northfield"),
                                                "Content-Type": "application/cloudevents+json"},
                   json={"specversion": "1.0", "type": JOB_STARTED, "source": EMPLOYER, "id": f"S-{abe}",
                         "subject": abe, "data": {"start_date": "2026-12-01"}})
    assert r.status_code == 202
    wait_for(lambda: journey(world, abe)["status"] == "completed", timeout=60)
    outcome = journey(world, abe)["outcome"]
    assert outcome["type"] == JOB_STARTED and outcome["duration_s"] > 0  # time to outcome, the measure
    notice = wait_for(lambda: messages(world, abe).get("benefit-stop-notice"), timeout=60)
    assert "1 December 2026" in notice["content"]["long"] and "/decisions" in notice["content"]["long"]
    cases = wait_for(lambda: httpx.get(f"{url}/v1/cases", params={"person": abe, "queue": "decision-review"},
                                       headers=auth(world, "Dara")).json()["items"], timeout=60)
    held = httpx.post(f"{world['transit']}/v1/taps", json={"card": card}).json()
    assert held["waived"] is True  # nothing stops while the change waits for a decision maker
    r = httpx.post(f"{url}/v1/cases/{cases[0]['id']}/resolve", headers=auth(world, "Dara"),
                   json={"outcome": "upheld", "reason": "payroll confirms it", "version": cases[0]["version"]})
    assert r.status_code == 200, r.text
    wait_for(lambda: (journey(world, abe, "back-in-work") or {}).get("status") == "completed", timeout=60)
    assert "has stopped" in wait_for(lambda: messages(world, abe).get("benefit-stop-decision"))["content"]["subject"]
    assert journey(world, abe)["outcome"]["confirmed"]["outcome"] == "upheld"
    after = httpx.post(f"{world['transit']}/v1/taps", json={"card": card}).json()
    assert after["waived"] is False and after["charged_pence"] == 280

    taps = httpx.get(f"{world['transit']}/v1/taps").json()
    # The gate reconciles on the month the platform booked each waived fare to, on the platform's clock.
    assert [t["statement_month"] for t in taps] == [TODAY[:7], TODAY[:7], None]
    statement = httpx.get(f"{url}/v1/chargeback/statements", params={"month": TODAY[:7]},
                          headers=auth(world, "Metro")).json()
    assert (statement["fares"], statement["total_pence"]) == (2, 560)

    log = httpx.get(f"{url}/v1/people/{abe}/access-log", headers=auth(world, "Portal")).json()
    to_jobmatch = [e for e in log if e["organisation"] == "JobMatch" and e["outcome"] == "disclosed"]
    wire = {hashlib.sha256(body).hexdigest(): body for body in received(world)}
    # What JobMatch's server received is exactly what the log says left: matched by the hash of the bytes.
    mine = [json.loads(wire[e["body_sha256"]]) for e in to_jobmatch]
    assert len(to_jobmatch) == len(mine) == 3  # the first match, the rematch, and the reservation
    (pseudonym,) = {b["subject"] for b in mine}
    assert sum(1 for b in wire.values() if json.loads(b)["subject"] == pseudonym) == 3
    assert told[0]["candidate"] == pseudonym  # the employer knows the candidate by the pseudonym alone
    agreed = {"occupation", "skills", "home_area", "aspirations", "travel_radius_miles"}
    shares = [(b, e) for b, e in zip(mine, to_jobmatch, strict=True) if e["channel"] == "share"]
    (reservation,) = [b for b, e in zip(mine, to_jobmatch, strict=True) if e["channel"] == "reservation"]
    assert (reservation["action"], reservation["job"], reservation["slot"]) == ("reserve", job["job"],
                                                                                job["slots"][0])
    assert "data" not in reservation  # a reservation carries no attribute of the person
    for body, entry in shares:
        assert set(body) == {"subject", "subject_type", "purpose", "agreement", "data", "reference"}
        assert set(body["data"]) <= agreed and sorted(body["data"]) == sorted(entry["attributes"])
    for entry in to_jobmatch:
        raw = wire[entry["body_sha256"]].decode()
        for secret in (abe, "1984-05-02", "Ashworth", "3100000", "92.05", "LS1 4AP", found["id"]):
            assert secret not in raw
    assert sum(1 for e in log if e["organisation"] == "Metro" and e.get("check") == "active-jobseeker") == 3


def test_without_consent_nothing_reaches_jobmatch_and_the_notice_still_comes(world):
    bea = person(world, "Bea", abes_occupation(), "bookkeeping")
    before = len(received(world))
    event = {"specversion": "1.0", "type": JOB_ENDED, "source": EMPLOYER, "id": f"N-{bea}", "subject": bea,
             "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 42, "class1_contribution_years": 2}}
    r = httpx.post(f"{world['url']}/v1/events", json=event, headers={**auth(world, "Northfield"),
                                                                     "Content-Type": "application/cloudevents+json"})
    assert r.status_code == 202
    notice = wait_for(lambda: messages(world, bea).get("notice-of-assistance"), timeout=60)
    assert "A work coach will send you jobs that suit you" in notice["content"]["long"]
    found = journey(world, bea)
    assert step(found, "match")["status"] == "failed" and step(found, "coach-match")["status"] == "done"
    assert len(received(world)) == before
    log = httpx.get(f"{world['url']}/v1/people/{bea}/access-log", headers=auth(world, "Portal")).json()
    (refusal,) = [e for e in log if e["organisation"] == "JobMatch"]
    assert (refusal["outcome"], refusal["rule"]) == ("refused", "consent-not-given")


def test_a_transit_check_with_an_unknown_card_says_no_and_probing_is_slowed(world):
    url, headers = world["url"], auth(world, "Metro")
    assert httpx.post(f"{url}/v1/transit/checks", json={"token": "NO-SUCH-CARD-1"},
                      headers=headers).json() == {"active_jobseeker": False}
    from concurrent.futures import ThreadPoolExecutor

    def guess(n: int) -> int:
        return httpx.post(f"{url}/v1/transit/checks", json={"token": f"GUESS-{n:06d}"}, headers=headers).status_code

    with ThreadPoolExecutor(8) as pool:  # faster than 5 a second, however slow the machine
        statuses = Counter(pool.map(guess, range(60)))
    assert statuses[429] > 0
    r = httpx.post(f"{url}/v1/transit/checks", json={"token": "x"}, headers=auth(world, "JobMatch"))
    assert r.status_code == 403
