"""/v1/cases: an officer's cases (list, show, assign, note, resolve, refer, appeal), the documents the
person attached, and the person's single view.

Every route acts as the current officer (``staff_auth.current_officer``) and goes through the
case service, whose staff policy scopes each officer to their queues and organisation.
Errors are RFC 9457 problems with a stable ``type``. A POST made with the console's session
cookie needs the session's CSRF token in ``X-CSRF-Token`` (403 ``csrf-token-missing`` without it);
a POST with an officer's bearer token does not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from ..domain.cases import NotPermittedError
from ..domain.clock import iso
from ..domain.disclosure import DisclosureRefusedError
from ..domain.staff import Officer
from ..engine.organisations import organisation_id
from .deps import civic as _civic
from .staff_auth import current_officer

PROBLEM = "application/problem+json"


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; some problems add members (``current``, ``resolved_by`` …)."""

    type: str
    title: str
    status: int
    detail: str


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    what = {401: "No officer credential, or not a valid one", 403: "Outside your queues or organisation, "
            "or you made the first review of this decision, or (with the console's session cookie) a change "
            "without the session's CSRF token in X-CSRF-Token", 404: "No such case", 409: "The case changed since "
            "you looked (the current state is in 'current') or was already resolved (by whom and when)",
            422: "Not a valid request: an outcome the queue does not allow, a note over the limit, an unknown queue"}
    return {c: {"model": ProblemDetails, "description": what[c], "content": {PROBLEM: {}}} for c in codes}


router = APIRouter(prefix="/v1/cases", tags=["cases"])


class Versioned(BaseModel):
    version: int = Field(description="the case version you looked at; a stale one is a 409 conflict")


class Assign(Versioned):
    officer: str | None = Field(None, description="the officer id to give the case to; yourself if absent")


class Note(Versioned):
    text: str


class Resolve(Versioned):
    outcome: str
    reason: str
    value: str | int | float | bool | None = Field(
        None, description="accepting a correction (queue 'correction', outcome 'accepted'): the right value of "
                          "the attribute the person named, recorded as a verified (silver) fact from your organisation")
    basis: str | None = Field(None, max_length=500, description="accepting a correction: what you checked "
                              "(a passport seen, a register consulted), kept in the case's outcome and note")


class Appeal(BaseModel):
    channel: str = Field(description="how the appeal reached us: post, phone, online or assisted")
    received_on: str = Field(description="the date the tribunal received it, YYYY-MM-DD")
    reference: str | None = Field(None, description="the tribunal's reference (40 characters kept)")


class Refer(Versioned):
    queue: str
    note: str = ""


@router.get("", summary="Cases you may see, by due date, a page at a time",
            responses=_problems(401, 403, 422))
def list_cases(request: Request, queue: str | None = None, status: list[str] | None = Query(None),
               assignee: str | None = None, person: str | None = None, cursor: str | None = None,
               limit: int = 50, me: Officer = Depends(current_officer)) -> dict:
    items, nxt = _civic(request).cases.page(queue, status, assignee, person, officer=me, cursor=cursor, limit=limit)
    return {"items": [c.summary() for c in items], "next": nxt}


@router.get("/{case_id}", summary="A case with its notes, tasks and timeline", responses=_problems(401, 403, 404))
def show_case(case_id: str, request: Request, me: Officer = Depends(current_officer)) -> dict:
    return _civic(request).cases.get(case_id, me).as_dict()


@router.post("/{case_id}/assign", summary="Take a case, or give it to another officer",
             responses=_problems(401, 403, 404, 409, 422))
def assign_case(case_id: str, request: Request, body: Assign = Body(...),
                me: Officer = Depends(current_officer)) -> dict:
    return _civic(request).cases.assign(case_id, body.officer or me, body.version, by=me).as_dict()


@router.post("/{case_id}/notes", summary="Add a note", responses=_problems(401, 403, 404, 409, 422))
def note_case(case_id: str, request: Request, body: Note = Body(...), me: Officer = Depends(current_officer)) -> dict:
    return _civic(request).cases.note(case_id, me, body.text, body.version).as_dict()


@router.post("/{case_id}/resolve", summary="Resolve with an outcome the queue allows; the journey hears it. "
             "Accepting a correction needs 'value' and 'basis' and records the right value as a verified fact",
             responses=_problems(401, 403, 404, 409, 422))
def resolve_case(case_id: str, request: Request, body: Resolve = Body(...),
                 me: Officer = Depends(current_officer)) -> dict:
    return _civic(request).cases.resolve(case_id, me, body.outcome, body.reason, body.version, value=body.value,
                                         basis=body.basis).as_dict()


@router.post("/{case_id}/refer", summary="Refer the case to another queue, perhaps another organisation's",
             responses=_problems(401, 403, 404, 409, 422))
def refer_case(case_id: str, request: Request, body: Refer = Body(...),
               me: Officer = Depends(current_officer)) -> dict:
    return _civic(request).cases.refer(case_id, me, body.queue, body.note, body.version).as_dict()


@router.get("/{case_id}/person", summary="The case's person: profile facts with source and tier, through the "
            "privacy gate and into their access log as you (a partner agency's officer: only what its agreement "
            "allows)", responses=_problems(401, 403, 404))
def person_view(case_id: str, request: Request, me: Officer = Depends(current_officer)) -> dict:
    civic = _civic(request)
    case = civic.cases.get(case_id, me)
    civic.cases.permit(me, "view-person", case.queue, case.id)
    queue = civic.cases.queue(case.queue)
    role = civic.pack.policy.role_for(me, "view-person", case.queue)
    if role.sees == "agreement":  # a partner agency's officer: only what its agreement discloses
        try:
            recipient = organisation_id(civic.store.organisations(), me.organisation)
            facts = civic.gate.partner_view(me, role.id, recipient, case.person, queue.purpose)
        except DisclosureRefusedError as exc:
            raise NotPermittedError(f"the privacy gate refused: {exc}", rule=getattr(exc, "slug", "")) from None
    else:
        facts = civic.gate.staff_view(me, role.id, case.person, queue.purpose)
    return {"person": case.person, "purpose": queue.purpose,
            "facts": {a: {"value": f.value, "source": f.source, "basis": f.basis.value, "tier": f.tier.value,
                          "observed_at": iso(f.observed_at)} for a, f in sorted(facts.items())}}


@router.post("/{case_id}/appeal", summary="Record the person's appeal to the tribunal against a mandatory "
             "reconsideration that kept the decision; its journey opens an appeal case",
             responses=_problems(401, 403, 404, 409, 422))
def record_appeal(case_id: str, request: Request, body: Appeal = Body(...),
                  me: Officer = Depends(current_officer)) -> dict:
    return _civic(request).appeals.record(case_id, me, body.channel, body.received_on, body.reference).as_dict()


@router.get("/{case_id}/evidence", summary="The documents the person attached to the case, without their content",
            responses=_problems(401, 403, 404))
def list_evidence(case_id: str, request: Request, me: Officer = Depends(current_officer)) -> dict:
    return {"items": [{**e, "uploaded_at": iso(e["uploaded_at"])}
                      for e in _civic(request).evidence.of_case(me, case_id)]}


@router.get("/{case_id}/evidence/{evidence_id}", summary="One document as it was sent; the reading is in the "
            "person's access log as you", response_class=Response,
            responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}},
                       **_problems(401, 403, 404)})
def read_evidence(case_id: str, evidence_id: str, request: Request, me: Officer = Depends(current_officer)) -> Response:
    from ..web.staff.cases import document

    return document(*_civic(request).evidence.read(me, case_id, evidence_id))
