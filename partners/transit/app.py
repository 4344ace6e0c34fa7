"""The transit partner: ticket gates that waive the fare for active job seekers.

At the gate a card is tapped. The gate asks the platform, machine to machine, whether
the card belongs to an active job seeker, and learns yes or no, nothing else. A waived
fare is recorded by the platform in the chargeback ledger; the gate keeps its own log of
taps (card ids only, which it issued itself), each with the month of the platform's statement
it was booked to, to reconcile against ``GET /v1/chargeback/statements?month=``.

When someone disputes a fare, the back office records it (``POST /v1/disputes``) against the
pseudonym the platform gave the authority for the fare concession, and publishes it to the
platform as a ``metro.fare-disputed`` CloudEvent; the platform opens a case. The platform's
answer is passed on: 202 with its receipt, or its problem (a pseudonym it never gave is 422).

Every error the gates answer is an RFC 9457 problem (``application/problem+json``: type, title,
status, detail), as the platform's are: a bad request (422, ``errors`` with JSON pointers), an
unknown path (404), the platform out of reach (503) or answering with an error (502, with its
``platform_status``), a dispute the platform refused (its status, with ``dispute`` and the
platform's own problem as ``platform``), and anything unforeseen (500, no internals).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..clock import Now, wall

PROBLEMS = "https://metro.example/problems/"
TITLES = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "This method is not allowed here"),
          422: ("invalid-request", "Invalid request"), 502: ("platform-error", "The platform answered with an error"),
          503: ("platform-unavailable", "The platform cannot be reached now")}


def problem(status: int, detail: str, slug: str | None = None, title: str | None = None, **more: Any) -> JSONResponse:
    """An RFC 9457 problem: ``{type, title, status, detail, **more}`` as application/problem+json."""
    known_slug, known_title = TITLES.get(status, ("error", "The request cannot be served"))
    return JSONResponse({"type": PROBLEMS + (slug or known_slug), "title": title or known_title, "status": status,
                         "detail": detail, **more}, status_code=status, media_type="application/problem+json")


class PlatformError(Exception):
    """The platform could not be asked (503) or answered with an error (502)."""

    def __init__(self, status: int, detail: str, platform_status: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.platform_status = status, detail, platform_status


def _install_problems(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"pointer": "/" + "/".join(str(p) for p in e["loc"]), "message": str(e["msg"])} for e in exc.errors()]
        return problem(422, "; ".join(f"{e['pointer']}: {e['message']}" for e in errors), errors=errors)

    @app.exception_handler(PlatformError)
    async def _platform(_: Request, exc: PlatformError) -> JSONResponse:
        more = {"platform_status": exc.platform_status} if exc.platform_status is not None else {}
        return problem(exc.status, exc.detail, **more)

    @app.exception_handler(Exception)
    async def _unforeseen(_: Request, exc: Exception) -> JSONResponse:
        return problem(500, "the gate could not answer; charge the fare", slug="internal-error",
                       title="Something went wrong at the gate")


def create_app(platform_url: str, token: str, fare_pence: int = 280, now: Now = wall) -> FastAPI:
    """The gates, asking the platform at ``platform_url`` with the transit organisation's ``token``;
    ``fare_pence`` is the fare at the gate, ``now`` the clock that times each tap (``partners.clock``)."""
    app = FastAPI(title="Metro Transit gates (reference partner)")
    client = httpx.Client(base_url=platform_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                          timeout=10)
    taps: list[dict[str, Any]] = []
    lock = threading.Lock()
    _install_problems(app)

    def ask(path: str, **kwargs: Any) -> httpx.Response:
        try:
            return client.post(path, **kwargs)
        except httpx.TransportError as exc:
            raise PlatformError(503, f"the platform cannot be reached ({type(exc).__name__}); charge the fare "
                                     "and try again later") from None

    @app.post("/v1/taps")
    def tap(body: dict = Body(...)) -> dict:
        card = body.get("card")
        if not isinstance(card, str) or not card:
            raise HTTPException(422, "a tap needs the card id")
        fare = body.get("fare_pence") or fare_pence
        if not isinstance(fare, int) or isinstance(fare, bool) or fare < 0:
            raise HTTPException(422, "fare_pence is a whole number of pence, 0 or more")
        at = now().isoformat()  # before asking: a fare the platform waived always has its line here
        r = ask("/v1/chargeback/fares", json={"token": card, "fare_pence": fare})
        if r.status_code == 429:
            raise PlatformError(503, "the platform asks us to slow down; charge the fare and retry later")
        if r.status_code >= 400:
            raise PlatformError(502, f"the platform answered {r.status_code} to the fare check: "
                                     f"{_detail(r)}; charge the fare", r.status_code)
        answer = r.json()
        waived = answer["waived"]
        # The month of the platform's statement the fare is charged back on: the ledger's clock, not
        # the gate's, decides it, so a tap near midnight on the last day is reconciled where it was booked.
        entry = {"card": card, "at": at, "waived": waived, "charged_pence": 0 if waived else fare,
                 "statement_month": answer.get("statement_month"), "recorded_at": answer.get("recorded_at")}
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
        r = ask("/v1/events", json=event, headers={"Content-Type": "application/cloudevents+json"})
        answer = _body(r)
        if r.status_code >= 400:
            return problem(r.status_code, f"the platform refused dispute {reference}: {_detail(r)}",
                           slug="dispute-refused", title="The platform refused the dispute", dispute=reference,
                           platform=answer)
        return JSONResponse({"dispute": reference, "platform": answer}, status_code=r.status_code)

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok"}

    return app


def _body(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return {"text": r.text[:500]}


def _detail(r: httpx.Response) -> str:
    body = _body(r)
    return str(body.get("detail") or body.get("title") or body.get("text") or r.reason_phrase) \
        if isinstance(body, dict) else r.reason_phrase
