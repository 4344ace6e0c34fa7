"""The person's claimant commitment, as their work coach recorded it (`/commitment`), with the
reasonable adjustments and the appointee on record: what the person agreed to do, and who acts
for them. Read-only here; the person changes it with their work coach."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response


def router(portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    @r.get("/commitment", response_class=HTMLResponse)
    def commitment(request: Request) -> Response:
        person = portal.person(request)
        if person is None:
            return RedirectResponse("/sign-in", status_code=303)
        records = civic.support.current(person)
        when = {k: portal.when(request, v["recorded_at"].isoformat()) for k, v in records.items()}
        return portal.page(request, "commitment.html", records=records, when=when)

    return r
