"""The transit partner: ticket gates that waive the fare for active job seekers.

At the gate a card is tapped. The gate asks the platform, machine to machine, whether
the card belongs to an active job seeker, and learns yes or no, nothing else. A waived
fare is recorded by the platform in the chargeback ledger; the gate keeps its own log of
taps (card ids only, which it issued itself).

When someone disputes a fare, the back office records it (``POST /v1/disputes``) against the
pseudonym the platform gave the authority for the fare concession, and publishes it to the
platform as a ``metro.fare-disputed`` CloudEvent; the platform opens a case. The platform's
answer is passed on: 202 with its receipt, or its problem (a pseudonym it never gave is 422).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from typing import Any

import httpx
from fastapi import Body, FastAPI, HTTPException
from fastapi.responses import JSONResponse


def create_app(platform_url: str, token: str, fare_pence: int = 280) -> FastAPI:
    app = FastAPI(title="Metro Transit gates (reference partner)")
    client = httpx.Client(base_url=platform_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                          timeout=10)
    taps: list[dict[str, Any]] = []
    lock = threading.Lock()

    @app.post("/v1/taps")
    def tap(body: dict = Body(...)) -> dict:
        card = body.get("card")
        if not isinstance(card, str) or not card:
            raise HTTPException(422, "a tap needs the card id")
        fare = int(body.get("fare_pence") or fare_pence)
        r = client.post("/v1/chargeback/fares", json={"token": card, "fare_pence": fare})
        if r.status_code == 429:
            raise HTTPException(503, "the platform asks us to slow down; charge the fare and retry later")
        r.raise_for_status()
        waived = r.json()["waived"]
        entry = {"card": card, "at": datetime.now(timezone.utc).isoformat(), "waived": waived,
                 "charged_pence": 0 if waived else fare}
        with lock:
            taps.append(entry)
        return entry

    @app.get("/v1/taps")
    def log() -> list[dict[str, Any]]:
        with lock:
            return list(taps)

    @app.post("/v1/disputes", status_code=202)
    def dispute(body: dict = Body(...)) -> JSONResponse:
        """``{subject, fare_pence, travelled_on, reason, station?}``: the subject is the pseudonym."""
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            raise HTTPException(422, "a dispute needs the subject: the pseudonym the platform gave us")
        reference = f"D-{uuid.uuid4().hex[:12]}"
        data = {"dispute": reference, **{k: body[k] for k in ("fare_pence", "travelled_on", "reason", "station")
                                         if k in body}}
        event = {"specversion": "1.0", "type": "metro.fare-disputed", "source": "https://metro.example/disputes",
                 "id": reference, "subject": subject, "data": data}
        r = client.post("/v1/events", json=event, headers={"Content-Type": "application/cloudevents+json"})
        return JSONResponse({"dispute": reference, "platform": r.json()}, status_code=r.status_code)

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok"}

    return app
