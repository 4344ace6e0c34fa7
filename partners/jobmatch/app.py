"""The job-matching partner as a web service.

It takes pseudonymised profiles from the platform, checks that each request is signed by
the platform (Ed25519 over the timestamp and the body), answers with ranked jobs and
paths back to work, and offers interview slots. It never sees a name or an identifier:
only the pseudonym and the attributes the data-sharing agreement allows.
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

from .market import generate, occupations
from .matching import Matcher

MAX_SKEW = 300  # seconds a signed request may be old
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
               seed: int = 7, capture: str | None = None) -> FastAPI:
    """``capture``: a file to which every request body is appended as it arrived (one base64 line each)."""
    matcher = Matcher(generate(centre, postings, courses, seed), occupations())
    app = FastAPI(title="JobMatch (reference partner)")
    received: list[dict[str, Any]] = []
    answered: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    @app.post("/v1/profiles")
    async def profile(request: Request) -> JSONResponse:
        body = await request.body()
        if capture:
            with lock, open(capture, "ab") as f:
                f.write(base64.b64encode(body) + b"\n")
        why = platform.verify(request.headers.get("x-civic-timestamp", ""),
                              request.headers.get("x-civic-signature", ""), body)
        if why:
            raise HTTPException(401, f"not signed by the platform: {why}")
        share = orjson.loads(body)  # {subject, subject_type, purpose, agreement, data, reference}
        key = request.headers.get("idempotency-key") or share["reference"]
        data = share.get("data") or {}
        with lock:
            received.append({"key": key, "subject": share.get("subject"), "attributes": sorted(data),
                             "at": datetime.now(timezone.utc).isoformat()})
            if key in answered:
                return JSONResponse(answered[key])
        try:
            plan = matcher.plan(data)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        now = datetime.now(timezone.utc)
        for job in plan["jobs"]:
            job["slots"] = slots(job["id"], now)
        plan["income"] = INCOME
        with lock:
            answered[key] = plan
        return JSONResponse(plan)

    @app.get("/v1/received")
    def log() -> list[dict[str, Any]]:
        """What reached this partner: pseudonyms and attribute names (the values are not kept)."""
        with lock:
            return list(received)

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok", "postings": len(matcher.market.postings)}

    return app
