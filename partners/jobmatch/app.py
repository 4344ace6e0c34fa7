"""The job-matching partner as a web service.

It takes pseudonymised profiles from the platform, checks that each request is signed by
the platform (Ed25519 over the timestamp and the body), answers with ranked jobs and
paths back to work, and offers interview slots. It holds a slot for the pseudonym the
platform books it for (``POST /v1/reservations``), one pseudonym per slot, and tells the
employer (``GET /v1/employers/{employer}/reservations``). It never sees a name or an
identifier: only the pseudonym and the attributes the data-sharing agreement allows.
"""

from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from ..clock import Now, wall
from .market import Posting, generate, occupations, town
from .matching import Matcher

MAX_SKEW = 300  # seconds a signed request may be old
SOURCE = "https://jobmatch.example/postings"  # the CloudEvents source of what JobMatch tells the platform
# The partner's catalogue of ways to earn from what a person has: for information only.
INCOME = [
    {"id": "rent-a-room", "title": "Rent out a spare room",
     "detail": "under the Rent a Room scheme the first £7,500 a year is free of income tax"},
    {"id": "trading-allowance", "title": "Sell things you make or no longer need",
     "detail": "the first £1,000 a year of trading income is free of income tax (the trading allowance)"},
    {"id": "parking-space", "title": "Let a parking space or driveway", "detail": "earnings count as income"},
]


class Platform:
    """How the partner knows the platform: its URL, the partner's token, and the signing key."""

    def __init__(self, url: str, token: str | None, public_key: str | None = None) -> None:
        self.url, self.token = url.rstrip("/"), token
        self._key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)) if public_key else None
        self.lock = threading.Lock()

    def key(self) -> Ed25519PublicKey:
        with self.lock:
            if self._key is None:
                r = httpx.get(f"{self.url}/v1/keys", headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
                r.raise_for_status()
                self._key = Ed25519PublicKey.from_public_bytes(base64.b64decode(r.json()["public_key"]))
            return self._key

    def tell(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send events to the platform's intake as one CloudEvents batch; the receipts."""
        r = httpx.post(f"{self.url}/v1/events", content=orjson.dumps(events), timeout=30,
                       headers={"Authorization": f"Bearer {self.token}",
                                "Content-Type": "application/cloudevents-batch+json"})
        if r.status_code not in (202, 207):
            raise HTTPException(502, f"the platform answered {r.status_code}: {r.text[:300]}")
        return r.json()["results"]

    def verify(self, timestamp: str, signature: str, body: bytes) -> str | None:
        """None if the request is the platform's and fresh; otherwise why not."""
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            return "the timestamp is not a number"
        if age > MAX_SKEW:
            return f"the request is {age:.0f} s old"
        try:
            self.key().verify(base64.b64decode(signature), timestamp.encode() + b"." + body)
        except (InvalidSignature, ValueError):
            return "the signature does not verify"
        return None


def slots(job_id: str, now: datetime) -> list[str]:
    """Two interview times on the next working day, from the job's id (stable per job)."""
    day = (now + timedelta(days=1)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    hour = 9 + sum(job_id.encode()) % 7
    return [datetime(day.year, day.month, day.day, h, 0, tzinfo=timezone.utc).isoformat() for h in (hour, hour + 1)]


def create_app(platform: Platform, centre: str = "Leeds", postings: int = 2000, courses: int = 200,
               seed: int = 7, capture: str | None = None, now: Now = wall) -> FastAPI:
    """``capture``: a file to which every request body is appended as it arrived (one base64 line each);
    ``now``: the clock that dates slots and the employers' news (``partners.clock``)."""
    matcher = Matcher(generate(centre, postings, courses, seed), occupations())
    app = FastAPI(title="JobMatch (reference partner)")
    received: list[dict[str, Any]] = []
    answered: dict[str, dict[str, Any]] = {}
    offered: dict[str, dict[str, Any]] = {}  # job id -> the job as offered, with its slots
    held: dict[tuple[str, str], dict[str, Any]] = {}  # (job, slot) -> the reservation
    employers: list[dict[str, Any]] = []  # what each employer was told, in order
    profiles: dict[str, dict[str, Any]] = {}  # pseudonym -> the agreed profile, to match new postings against
    lock = threading.Lock()

    async def signed(request: Request) -> bytes:
        body = await request.body()
        if capture:
            with lock, open(capture, "ab") as f:
                f.write(base64.b64encode(body) + b"\n")
        why = platform.verify(request.headers.get("x-civic-timestamp", ""),
                              request.headers.get("x-civic-signature", ""), body)
        if why:
            raise HTTPException(401, f"not signed by the platform: {why}")
        return body

    @app.post("/v1/profiles")
    async def profile(request: Request) -> JSONResponse:
        share = orjson.loads(await signed(request))  # {subject, subject_type, purpose, agreement, data, reference}
        key = request.headers.get("idempotency-key") or share["reference"]
        data = share.get("data") or {}
        with lock:
            received.append({"key": key, "subject": share.get("subject"), "attributes": sorted(data),
                             "at": now().isoformat()})
            if key in answered:
                return JSONResponse(answered[key])
        try:
            plan = matcher.plan(data)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        today = now()
        for job in plan["jobs"]:
            job["slots"] = slots(job["id"], today)
        plan["income"] = INCOME
        with lock:
            answered[key] = plan
            if share.get("subject"):
                profiles[share["subject"]] = data
            for job in plan["jobs"]:
                offered.setdefault(job["id"], job)
        return JSONResponse(plan)

    def free(job: dict[str, Any]) -> list[str]:
        return [s for s in job["slots"] if (job["id"], s) not in held]

    def problem(status: int, slug: str, detail: str, **more: Any) -> JSONResponse:
        return JSONResponse({"type": f"https://jobmatch.example/problems/{slug}", "status": status,
                             "detail": detail, **more}, status_code=status, media_type="application/problem+json")

    @app.post("/v1/reservations")
    async def reserve(request: Request) -> JSONResponse:
        """Hold (``action: reserve``) or release (``action: cancel``) one slot of a job for a pseudonym.

        Body: ``{subject, subject_type, purpose, agreement, action, job, slot, reference}``, signed
        by the platform like a share. Idempotent per (job, slot, subject): the same reservation
        again is 200 with the same answer. A slot another subject holds is 409 ``slot-taken`` with
        the job's ``free_slots``; an unknown job or slot is 404; cancelling a slot the subject does
        not hold is 404 ``not-held``. The employer hears of each reservation and cancellation.
        """
        ask = orjson.loads(await signed(request))
        subject, action = ask.get("subject"), ask.get("action", "reserve")
        job_id, slot = ask.get("job"), ask.get("slot")
        if not subject or action not in ("reserve", "cancel"):
            return problem(422, "invalid-reservation", "a reservation needs a subject and action reserve or cancel")
        at = now().isoformat()
        with lock:
            job = offered.get(job_id)
            if job is None or slot not in job["slots"]:
                return problem(404, "unknown-slot", f"job {job_id!r} has no slot {slot!r}")
            holder = held.get((job_id, slot))
            if action == "cancel":
                if holder is None or holder["subject"] != subject:
                    return problem(404, "not-held", "this slot is not held for this subject")
                del held[(job_id, slot)]
                employers.append({"employer": job["employer"], "event": "cancelled", "job": job_id,
                                  "title": job["title"], "slot": slot, "candidate": subject, "at": at})
                return JSONResponse({"status": "cancelled", "job": job_id, "slot": slot,
                                     "reference": holder["reference"], "free_slots": free(job)})
            if holder is not None and holder["subject"] != subject:
                return problem(409, "slot-taken", f"the {slot} slot of this job is taken", job=job_id,
                               free_slots=free(job))
            if holder is None:
                holder = held[(job_id, slot)] = {"subject": subject, "reference": ask.get("reference"), "at": at}
                employers.append({"employer": job["employer"], "event": "reserved", "job": job_id,
                                  "title": job["title"], "slot": slot, "candidate": subject, "at": at})
            return JSONResponse({"status": "reserved", "job": job_id, "slot": slot,
                                 "reference": holder["reference"], "employer": job["employer"]})

    @app.post("/v1/postings", status_code=201)
    async def new_posting(request: Request) -> JSONResponse:
        """A new job is posted. Everyone matched before whose plan it now joins is found, and the
        platform is told (``jobmatch.job-found``, one CloudEvent each, subject the pseudonym)."""
        body = orjson.loads(await request.body())
        place = town(str(body.get("town", "")))
        asked = str(body.get("occupation") or "")
        exact = [i for i, o in enumerate(matcher.occupations) if asked in (o.label, o.id)]
        best = exact or [i for i, s in sorted(matcher.similarity(asked).items(), key=lambda x: -x[1])
                         if s > 0 and not matcher.occupations[i].group][:1]
        if place is None or not best or not body.get("title") or not body.get("employer"):
            return problem(422, "invalid-posting", "a posting needs title, employer, a known town and an "
                                                   "occupation (an ESCO label or id, or words that name one)")
        with lock:
            posting = Posting(f"P-NEW-{len(matcher.market.postings) + 1}", best[0],
                              str(body["title"]), str(body["employer"]), place.name, place.lat, place.lon,
                              int(body.get("wage_pence", 2_500_000)), int(body.get("hours", 37)))
            matcher.add(posting)
            known = dict(profiles)
        events = []
        for subject, data in known.items():
            try:
                plan = matcher.plan(data)
            except ValueError:
                continue
            job = next((j for j in plan["jobs"] if j["id"] == posting.id), None)
            if job is not None:
                events.append({"specversion": "1.0", "type": "jobmatch.job-found", "source": SOURCE,
                               "id": f"{posting.id}:{subject[:16]}", "subject": subject,
                               "data": {k: job[k] for k in ("title", "employer", "town", "miles", "wage_pence",
                                                            "why")} | {"job": job["id"]}})
        results = platform.tell(events) if events else []
        return JSONResponse({"posting": posting.id, "told": len(events), "results": results}, status_code=201)

    @app.get("/v1/employers/{employer}/reservations")
    def employer_view(employer: str) -> list[dict[str, Any]]:
        """What the employer was told: each reservation and cancellation, with the candidate's pseudonym."""
        with lock:
            return [e for e in employers if e["employer"] == employer]

    @app.get("/v1/received")
    def log() -> list[dict[str, Any]]:
        """What reached this partner: pseudonyms and attribute names (the values are not kept)."""
        with lock:
            return list(received)

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok", "postings": len(matcher.market.postings)}

    return app
