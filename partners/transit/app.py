"""The transit partner: ticket gates that waive the fare for active job seekers.

At the gate a card is tapped. The gate asks the platform, machine to machine, whether
the card belongs to an active job seeker, and learns yes or no, nothing else. A waived
fare is recorded by the platform in the chargeback ledger; the gate keeps its own log of
taps (card ids only, which it issued itself).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

import httpx
from fastapi import Body, FastAPI, HTTPException


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

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok"}

    return app
