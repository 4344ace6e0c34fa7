"""POST /v1/events: CloudEvents in structured, binary and batch modes, and employers' CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..domain.organisations import Organisation
from ..engine import bounds
from ..engine.csv_intake import read_rows, submit_rows
from ..engine.errors import (
    CsvMappingError,
    MalformedJsonError,
    MissingAttributeError,
    PayloadTooLargeError,
    UnknownEventTypeError,
    UnsupportedMediaTypeError,
)
from .auth import organisation
from .problems import problem_response

router = APIRouter(prefix="/v1")

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


async def _body(request: Request) -> bytes:
    limit = request.app.state.civic.settings.max_payload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the request is {declared} bytes; the limit is {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeError(f"the request is over the limit of {limit} bytes")
    return body


def _json(body: bytes) -> Any:
    return bounds.loads(body)


def _binary(request: Request, body: bytes) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, value in request.headers.items():
        if name.lower().startswith("ce-"):
            event[name[3:].lower()] = unquote(value)  # the HTTP binding percent-encodes values
    event["datacontenttype"] = request.headers.get("content-type", "application/json")
    event["data"] = _json(body) if body else {}
    return event


EVENT_SCHEMA = {
    "type": "object",
    "required": ["specversion", "id", "source", "type", "subject"],
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {"type": "string", "maxLength": 500},
        "source": {"type": "string", "maxLength": 500},
        "type": {"type": "string", "maxLength": 300},
        "subject": {"type": "string", "maxLength": 300},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"type": "string"},
        "data": {"type": "object"},
    },
}
RECEIPT_SCHEMA = {"type": "object", "required": ["index", "status"], "properties": {
    "index": {"type": "integer"}, "id": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
    "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
    "problem": {"$ref": "#/components/schemas/Problem"}}}
RESULTS_SCHEMA = {"type": "object", "required": ["results"],
                  "properties": {"results": {"type": "array", "items": RECEIPT_SCHEMA}}}
OPENAPI = {
    "requestBody": {"required": True, "content": {
        STRUCTURED: {"schema": EVENT_SCHEMA},
        BATCH: {"schema": {"type": "array", "items": EVENT_SCHEMA}},
        "text/csv": {"schema": {"type": "string"}},
    }},
    "responses": {
        "200": {"description": "Already received: the same event again, harmless",
                "content": {"application/json": {"schema": RECEIPT_SCHEMA}}},
        "202": {"description": "Accepted (one event), or every event of a batch or CSV accepted",
                "content": {"application/json": {"schema": {"oneOf": [RECEIPT_SCHEMA, RESULTS_SCHEMA]}}}},
        "207": {"description": "A batch or CSV with some events refused: a receipt per event",
                "content": {"application/json": {"schema": RESULTS_SCHEMA}}},
    },
}


@router.post("/events", status_code=202, summary="Send life events (CloudEvents 1.0)", openapi_extra=OPENAPI)
async def send_events(request: Request, org: Organisation = Depends(organisation)) -> JSONResponse:
    civic = request.app.state.civic
    body = await _body(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == BATCH:
        events = _json(body)
        if not isinstance(events, list):
            raise MalformedJsonError("a batch must be a JSON array of events")
        receipts = civic.intake.submit(org, events)
        ok = all(r.status != "rejected" for r in receipts)
        return JSONResponse({"results": [r.as_dict() for r in receipts]}, status_code=202 if ok else 207)
    if ctype == "text/csv":
        type_name = request.query_params.get("type")
        event_type = civic.pack.event_types.get(type_name or "")
        if event_type is None:
            raise UnknownEventTypeError(f"add ?type=<event type> naming a registered type; got {type_name!r}")
        source = request.query_params.get("source") or (org.sources[0].rstrip("*") if org.sources else "")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CsvMappingError("the CSV is not UTF-8 text") from None
        receipts = submit_rows(civic.intake, org, read_rows(event_type, text, source), source)
        ok = all(r.status != "rejected" for r in receipts)
        return JSONResponse({"results": [r.as_dict() for r in receipts]}, status_code=202 if ok else 207)
    if ctype == STRUCTURED:
        event = _json(body)
    elif "ce-specversion" in request.headers:
        event = _binary(request, body)
    elif ctype in ("application/json", ""):
        raise MissingAttributeError(
            "binary mode needs ce-specversion, ce-id, ce-source, ce-type and ce-subject headers; "
            f"or send {STRUCTURED}"
        )
    else:
        raise UnsupportedMediaTypeError(
            f"content type {ctype!r} is not accepted; use {STRUCTURED}, {BATCH}, binary mode or text/csv"
        )
    (receipt,) = civic.intake.submit(org, [event])
    if receipt.problem is not None:
        return problem_response(receipt.problem)
    return JSONResponse(receipt.as_dict(), status_code=202 if receipt.status in ("accepted", "held") else 200)
