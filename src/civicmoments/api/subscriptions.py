"""/v1/subscriptions: an organisation's standing requests to be told of events.

Shaped on the CNCF CloudEvents Subscriptions API: create, list, show and delete, plus a
replay from a point in time and the dead letters of a subscription. Each organisation sees
only its own subscriptions; another's is a 404, never a hint. Errors are RFC 9457 problems.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from ..domain.clock import iso
from ..domain.organisations import Organisation
from .auth import organisation
from .deps import civic as _civic

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


class NewSubscription(BaseModel):
    types: list[str] = Field(description="CloudEvents types, exact or a pattern (uk.gov.gro.*)", min_length=1)
    agreement: str = Field(description="the data-sharing agreement the subscription relies on", max_length=100)
    sink: str = Field("", description="the https URL events are posted to (protocol HTTP)", max_length=2000)
    protocol: str = Field("HTTP", description="HTTP (webhooks) or NATS (JetStream, when the platform has it)")
    source_prefix: str = Field("", max_length=500, description="only events whose source starts with this")
    subject_prefix: str = Field("", max_length=300, description="only events whose subject starts with this")


class Replay(BaseModel):
    since: datetime = Field(description="deliver again every event from this time (ISO 8601, UTC if no offset)")


def _shown(civic, sub) -> dict[str, Any]:
    return {**sub.as_dict(), "deliveries": civic.subscriptions.counts(sub.id)}


@router.post("", status_code=201, summary="Subscribe to events under an agreement")
def create(body: NewSubscription, request: Request, response: Response,
           org: Organisation = Depends(organisation)) -> dict[str, Any]:
    """403 when no agreement in force lets the organisation be told of the types; 422 for a malformed
    request (a sink that is not https outside demo mode, an unknown type), naming the field."""
    civic = _civic(request)
    sub = civic.subscriptions.create(org, body.types, body.agreement, body.sink, body.protocol,
                                     body.source_prefix, body.subject_prefix)
    response.headers["Location"] = f"/v1/subscriptions/{sub.id}"
    return _shown(civic, sub)


@router.get("", summary="Your subscriptions")
def list_(request: Request, org: Organisation = Depends(organisation)) -> list[dict[str, Any]]:
    civic = _civic(request)
    return [_shown(civic, s) for s in civic.subscriptions.list(org)]


@router.get("/{sub_id}", summary="One subscription, with its delivery counts")
def show(sub_id: str, request: Request, org: Organisation = Depends(organisation)) -> dict[str, Any]:
    civic = _civic(request)
    return _shown(civic, civic.subscriptions.get(sub_id, org))


@router.delete("/{sub_id}", status_code=204, summary="Stop a subscription; pending deliveries are cancelled")
def delete(sub_id: str, request: Request, org: Organisation = Depends(organisation)) -> Response:
    _civic(request).subscriptions.delete(sub_id, org)
    return Response(status_code=204)


@router.post("/{sub_id}/replay", summary="Deliver again every matching event from a point in time")
def replay(sub_id: str, body: Replay, request: Request, org: Organisation = Depends(organisation)) -> dict:
    since = body.since if body.since.tzinfo else body.since.replace(tzinfo=timezone.utc)
    queued = _civic(request).subscriptions.replay(sub_id, since.astimezone(timezone.utc), org)
    return {"queued": queued, "since": iso(since)}


@router.get("/{sub_id}/dead-letters", summary="Deliveries that failed for good, with the subscriber's answer")
def dead_letters(sub_id: str, request: Request, org: Organisation = Depends(organisation)) -> list[dict]:
    rows = _civic(request).subscriptions.dead_letters(sub_id, org)
    return [{"event_id": r["event_id"], "type": r["type"], "attempts": r["attempts"], "answer": r["last_error"],
             "time": iso(r["time"]) if r["time"] else None} for r in rows]



