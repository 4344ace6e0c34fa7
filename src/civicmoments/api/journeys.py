"""GET /v1/journeys/{id}: a journey, its steps, effects and timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ..domain.clock import iso
from ..domain.organisations import Organisation
from ..engine.errors import NotFoundError, PermissionDeniedError
from .auth import organisation

router = APIRouter(prefix="/v1")


def journey_view(found: dict[str, Any]) -> dict[str, Any]:
    j = found["journey"]
    return {
        "id": j.id,
        "moment": j.moment,
        "person": j.person,
        "status": j.status.value,
        "version": j.version,
        "started_at": iso(j.started_at),
        "updated_at": iso(j.updated_at),
        "steps": {k: {"status": s.status.value, "started_at": s.started_at,
                      "finished_at": s.finished_at, "result": s.result} for k, s in j.steps.items()},
        "outcome": j.outcome,
        "effects": [{**e, "done_at": iso(e["done_at"]) if e["done_at"] else None}
                    for e in found["effects"]],
        "timeline": [{"at": iso(t["at"]), "kind": t["kind"], "step": t["step"], "detail": t["detail"]}
                     for t in found["timeline"]],
    }


@router.get("/journeys", summary="A person's journeys, newest first")
def list_journeys(request: Request, person: str, org: Organisation = Depends(organisation)) -> list[dict]:
    if not org.may("journeys:read"):
        raise PermissionDeniedError(f"organisation {org.name!r} lacks the 'journeys:read' scope")
    return [{"id": j.id, "moment": j.moment, "status": j.status.value, "started_at": iso(j.started_at)}
            for j in request.app.state.civic.store.journeys_for(person)]


@router.get("/journeys/{journey_id}", summary="A journey and its timeline")
def get_journey(journey_id: str, request: Request, org: Organisation = Depends(organisation)) -> dict:
    if not org.may("journeys:read"):
        raise PermissionDeniedError(f"organisation {org.name!r} lacks the 'journeys:read' scope")
    civic = request.app.state.civic
    found = civic.store.journey(journey_id)
    if found is None:
        raise NotFoundError(f"no journey {journey_id!r}")
    view = journey_view(found)
    civic.gate.read(org.id, view["person"], "api:journey", ["journey"], "journeys",
                    journey=journey_id)
    return view
