"""Messages: a person's messages and preferences, delivery receipts from providers, and the
print supplier's queue of letters."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import FileResponse

from ..domain.clock import iso
from ..domain.messages import Channel, Status
from ..domain.organisations import Organisation
from ..engine.errors import (
    CredentialInvalidError,
    CredentialMissingError,
    InvalidReceiptError,
    NotFoundError,
    ReceiptsNotConfiguredError,
)
from .auth import organisation
from .deps import civic as _civic
from .deps import need as _need

router = APIRouter(prefix="/v1")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: iso(v) if hasattr(v, "isoformat") else v for k, v in item.items() if k != "history"}
    out["history"] = [{k: iso(v) if hasattr(v, "isoformat") else v for k, v in h.items()}
                      for h in item.get("history", [])]
    return out


@router.get("/people/{person}/messages", summary="A person's messages, with statuses and channel history")
def person_messages(person: str, request: Request, content: bool = False,
                    org: Organisation = Depends(organisation)) -> list[dict]:
    """With ``content=true`` (scope ``messages:content``, for the person's own portal) the text too."""
    _need(org, "messages:read")
    if content:
        _need(org, "messages:content")
    civic = _civic(request)
    civic.registry.require(person)
    found = civic.messenger.of_person(person, reveal=content)
    if content:  # message texts are personal data: reading them is a disclosure, logged
        civic.gate.read(org.id, person, "api:messages", ["message_content"], "messages",
                        messages=[m["id"] for m in found])
    return [_plain(m) for m in found]


@router.get("/people/{person}/preferences", summary="A person's message preferences")
def get_preferences(person: str, request: Request, org: Organisation = Depends(organisation)) -> dict:
    _need(org, "messages:read")
    civic = _civic(request)
    civic.registry.require(person)
    return civic.messenger.preferences(person).as_dict()


@router.put("/people/{person}/preferences", summary="Set a person's channels, language, needs, quiet hours")
def put_preferences(person: str, request: Request, body: dict = Body(...),
                    org: Organisation = Depends(organisation)) -> dict:
    _need(org, "messages:write")
    return _civic(request).messenger.set_preferences(person, body).as_dict()


@router.post("/messages/receipts", summary="Delivery receipts, in GOV.UK Notify's callback shape")
def receipt(request: Request, body: dict = Body(...)) -> dict:
    expected = _civic(request).settings.receipts_token
    if expected is None:
        raise ReceiptsNotConfiguredError("set CIVIC_RECEIPTS_TOKEN and give it to the providers")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise CredentialMissingError("send 'Authorization: Bearer <receipts token>'")
    if not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
        raise CredentialInvalidError("the receipts token is not valid")
    ref = body.get("reference") or body.get("id")
    if not isinstance(ref, str) or not isinstance(body.get("status"), str):
        raise InvalidReceiptError("a receipt has 'status' and 'reference' (or the provider's 'id')")
    return _civic(request).messenger.receipt(ref, body["status"], f"receipt from provider: {body['status']}")


@router.get("/print/letters", summary="Letters waiting to be printed and posted")
def letters(request: Request, org: Organisation = Depends(organisation)) -> list[dict]:
    _need(org, "print")
    rows = _civic(request).messenger.store.in_channel(Channel.LETTER, Status.SENDING)
    return [{"id": r["id"], "file": r["reference"], "queued_at": iso(r["updated_at"]),
             "large_print": bool(r["needs"].get("large_print"))} for r in rows]


@router.get("/print/letters/{message_id}.pdf", summary="One letter's PDF", response_class=FileResponse)
def letter_pdf(message_id: str, request: Request, org: Organisation = Depends(organisation)) -> FileResponse:
    _need(org, "print")
    civic = _civic(request)
    row = civic.messenger.store.get(message_id)
    path = civic.settings.resolved_letters_dir() / f"{message_id}.pdf"
    if row is None or not path.exists():
        raise NotFoundError(f"no letter {message_id!r} in the print queue")
    return FileResponse(path, media_type="application/pdf", filename=path.name)


@router.post("/print/letters/{message_id}/posted", summary="The supplier printed and posted a letter")
def posted(message_id: str, request: Request, org: Organisation = Depends(organisation)) -> dict:
    _need(org, "print")
    return _civic(request).messenger.posted(message_id)
