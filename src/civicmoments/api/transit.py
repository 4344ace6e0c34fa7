"""The transit entitlement and interview booking: travel cards, yes/no checks at the gate, the
chargeback ledger, and interviews booked from a person's plan."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from ..domain.organisations import Organisation
from ..engine.errors import Problem
from .auth import organisation
from .deps import civic as _civic
from .deps import need as _need

router = APIRouter(prefix="/v1")
PARTNER_DOWN = {503: {"description": "The partner that holds the slots did not answer; nothing was booked",
                      "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise Problem(f"'{key}' is required, as text")
    return value


@router.post("/people/{person}/travel-tokens", status_code=201,
             summary="Register a travel card for the fare concession (this gives consent for it)")
def register_token(person: str, request: Request, body: dict = Body(...),
                   org: Organisation = Depends(organisation)) -> dict:
    _need(org, "people:answer")
    return _civic(request).transit.register(person, _text(body, "token"))


@router.post("/transit/checks", summary="Is this card an active job seeker's? Yes or no, nothing else")
def check(request: Request, body: dict = Body(...), org: Organisation = Depends(organisation)) -> dict:
    _need(org, "transit:check")
    return {"active_jobseeker": _civic(request).transit.active_jobseeker(org, _text(body, "token"))}


@router.post("/chargeback/fares", summary="Record a fare waived at the gate, to be charged back",
             description="Body `{token, fare_pence}` (whole pence, 1 to 100000). Answers `{waived: false, "
                         "fare_pence}` when the card is not an active job seeker's; else `{waived: true, "
                         "fare_pence, statement_month, recorded_at}`: the month (YYYY-MM, UTC) of the "
                         "statement the fare is charged back on and the instant it was booked (UTC), both on "
                         "the platform's clock, for the gate to reconcile by.")
def waive(request: Request, body: dict = Body(...), org: Organisation = Depends(organisation)) -> dict:
    _need(org, "transit:check")
    return _civic(request).transit.waive(org, _text(body, "token"), body.get("fare_pence"))


@router.get("/chargeback/statements", summary="The month's chargeback statement for the calling organisation")
def statement(request: Request, month: str = Query(..., description="YYYY-MM"),
              org: Organisation = Depends(organisation)) -> dict:
    _need(org, "transit:check")
    return _civic(request).transit.statement(org, month)


@router.get("/people/{person}/interviews/offered", summary="The interview slots offered in a person's plan")
def offered(person: str, request: Request, org: Organisation = Depends(organisation)) -> list[dict]:
    _need(org, "people:answer")
    return [{"job": j["id"], "title": j["title"], "employer": j["employer"], "town": j["town"],
             "slots": j.get("slots", [])} for j in _civic(request).interviews.offered(person)]


@router.post("/people/{person}/interviews", status_code=201, summary="Book an interview slot from the plan",
             description="The slot is reserved at the partner first (under the pseudonym, through the privacy "
                         "gate); a slot someone else holds is 409 `slot-taken` with `free_slots`; without consent "
                         "403 `consent-not-given` and nothing leaves.", responses=PARTNER_DOWN)
def book(person: str, request: Request, body: dict = Body(...), org: Organisation = Depends(organisation)) -> dict:
    _need(org, "people:answer")
    return _civic(request).interviews.book(person, _text(body, "job"), _text(body, "slot"))


@router.post("/people/{person}/interviews/cancel", summary="Cancel a booked interview: the partner frees the slot",
             responses=PARTNER_DOWN)
def cancel(person: str, request: Request, body: dict = Body(...), org: Organisation = Depends(organisation)) -> dict:
    _need(org, "people:answer")
    return _civic(request).interviews.cancel(person, _text(body, "job"), _text(body, "slot"))


@router.get("/people/{person}/interviews/{booking}.ics", summary="The interview invitation, as iCalendar",
            response_class=Response)
def calendar(person: str, booking: str, request: Request) -> Response:
    # The link is the credential: it names the person and the journey, both unguessable ids.
    return Response(_civic(request).interviews.ics(person, booking), media_type="text/calendar")
