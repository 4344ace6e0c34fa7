"""People: facts, the once-only questions, consent, disclosures through the gate, the access
log and the right of access. Every read of personal data by an organisation goes through
the privacy gate and is logged."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from ..domain.clock import iso
from ..domain.consent import Mode
from ..domain.disclosure import DisclosureRefusedError
from ..domain.organisations import Organisation
from ..engine.errors import ExportReasonRequiredError, InvalidDecisionDateError, Problem, UnknownPersonError
from ..engine.gate import Refusal
from .auth import organisation
from .deps import civic as _civic
from .deps import need as _need

router = APIRouter(prefix="/v1/people")


class DisclosureRefused(Problem):
    status = 403
    title = "The privacy gate refused this disclosure"

    def __init__(self, error: DisclosureRefusedError) -> None:
        super().__init__(str(error))
        self.slug = error.slug


def _fact(f) -> dict[str, Any]:
    return {"attribute": f.attribute, "value": f.value, "source": f.source, "basis": f.basis.value,
            "tier": f.tier.value, "observed_at": iso(f.observed_at), "valid_from": iso(f.valid_from)}


@router.post("", status_code=201, summary="Register a person, with identifiers per scheme")
def add_person(request: Request, body: dict = Body(...), org: Organisation = Depends(organisation)) -> dict:
    _need(org, "people:write")
    # 422 invalid-identifier names the issuer's rule; 409 identifier-held names who holds it
    return {"id": _civic(request).registry.add_person(body.get("identifiers") or {})}


@router.post("/{person}/facts", status_code=201, summary="Record facts (append-only)")
def add_facts(person: str, request: Request, body: list[dict] = Body(...),
              org: Organisation = Depends(organisation)) -> dict:
    return {"recorded": _civic(request).registry.record(org, person, body)}


@router.get("/{person}/data", summary="Read a person's data for a purpose, through the privacy gate")
def read_data(person: str, request: Request, purpose: str, attributes: str = Query(..., description="comma list"),
              org: Organisation = Depends(organisation)) -> dict:
    civic = _civic(request)
    agreement = civic.registry.store.current_agreement(org.id, purpose)
    if agreement is not None and agreement.mode is Mode.PSEUDONYMISED:
        # Pseudonyms only, both ways: the path holds the pseudonym this organisation was given for
        # this purpose; a platform id (or anyone else's pseudonym) is unknown here, and says nothing.
        found = civic.gate.reidentify(org.id, purpose, person)
        if found is None:
            raise UnknownPersonError(f"no one is known to {org.name!r} as {person!r} for {purpose}; under a "
                                     "pseudonymised agreement, ask with the pseudonym you were given")
        person = found
    civic.registry.require(person)
    try:
        release = civic.gate.disclose_one(org.id, purpose, person, [a for a in attributes.split(",") if a],
                                          channel="api")
    except DisclosureRefusedError as exc:
        raise DisclosureRefused(exc) from None
    return {"subject": release.subject, "data": release.data, "withheld": list(release.authorisation.withheld),
            "agreement": release.authorisation.agreement, "version": release.authorisation.agreement_version}


@router.get("/{person}/checks/{check}", summary="A yes/no entitlement check; no personal data leaves")
def yes_no(person: str, check: str, purpose: str, request: Request,
           org: Organisation = Depends(organisation)) -> dict:
    civic = _civic(request)
    civic.registry.require(person)
    (answer,) = civic.gate.check(org.id, purpose, [person], check)
    if isinstance(answer, Refusal):
        raise DisclosureRefused(answer.error)
    return {"check": check, "answer": answer}


@router.get("/{person}/questions", summary="What is known, and what must still be asked (once-only)")
def questions(person: str, request: Request, for_: str = Query(..., alias="for"),
              org: Organisation = Depends(organisation)) -> dict:
    _need(org, "people:read")
    civic = _civic(request)
    plan = civic.questions.plan(person, for_)
    civic.gate.read(org.id, person, "api:questions", [k["attribute"] for k in plan["known"]], "once-only-questions")
    return plan


@router.post("/{person}/answers", status_code=201, summary="The person's answers, kept as declared facts")
def answers(person: str, request: Request, body: dict = Body(...), org: Organisation = Depends(organisation)) -> dict:
    _need(org, "people:answer")
    return {"recorded": _civic(request).questions.answer(person, body)}


@router.get("/{person}/consents", summary="Consent receipts, oldest first")
def consent_receipts(person: str, request: Request, org: Organisation = Depends(organisation)) -> list[dict]:
    _need(org, "consents:read")
    return _civic(request).consents.receipts(person)


@router.get("/{person}/consent-states", summary="Each purpose's real state under its model, and what can be done")
def consent_states(person: str, request: Request, org: Organisation = Depends(organisation)) -> list[dict]:
    _need(org, "consents:read")
    return [{"purpose": s.purpose, "model": s.model.value, "state": s.state, "actions": list(s.actions),
             "in_force": s.in_force, "why": s.why} for s in _civic(request).consents.statuses(person)]


@router.put("/{person}/objections/{purpose}", status_code=201,
            summary="Object to an opt-out purpose (409 for notice-only and legal obligation, with why)")
def object_to(person: str, purpose: str, request: Request, channel: str = "api",
              org: Organisation = Depends(organisation)) -> dict:
    _need(org, "consents:write")
    return _civic(request).consents.object(person, purpose, channel)


@router.delete("/{person}/objections/{purpose}", summary="Undo an objection")
def undo_objection(person: str, purpose: str, request: Request, channel: str = "api",
                   org: Organisation = Depends(organisation)) -> dict:
    _need(org, "consents:write")
    return _civic(request).consents.undo_objection(person, purpose, channel)


@router.put("/{person}/consents/{purpose}", status_code=201, summary="Give consent; returns the receipt")
def give_consent(person: str, purpose: str, request: Request, channel: str = "api",
                 org: Organisation = Depends(organisation)) -> dict:
    _need(org, "consents:write")
    return _civic(request).consents.give(person, purpose, channel)


@router.delete("/{person}/consents/{purpose}", summary="Withdraw consent; as easy as giving it")
def withdraw_consent(person: str, purpose: str, request: Request, channel: str = "api",
                     org: Organisation = Depends(organisation)) -> dict:
    _need(org, "consents:write")
    return _civic(request).consents.withdraw(person, purpose, channel)


@router.get("/{person}/services", summary="Services: eligible now, becoming eligible, and (if asked) not eligible")
def services(person: str, request: Request, on: str | None = None,
             include: str = Query("", description="'not-eligible' to show those too, with the reason"),
             org: Organisation = Depends(organisation)) -> dict:
    _need(org, "people:read")
    civic = _civic(request)
    try:
        day = date.fromisoformat(on) if on else civic.clock.now().date()
    except ValueError:
        raise InvalidDecisionDateError(f"'on' must be a date written YYYY-MM-DD; got {on!r}") from None
    return civic.services.for_person(person, day, include_not_eligible="not-eligible" in include.split(","))


@router.get("/{person}/access-log", summary="Who accessed this person's data, why, and when")
def access_log(person: str, request: Request, org: Organisation = Depends(organisation)) -> list[dict]:
    _need(org, "people:read")
    civic = _civic(request)
    civic.registry.require(person)
    names = {o["id"]: o["name"] for o in civic.store.organisations()}
    return [{"at": e["at"], "organisation": names.get(e["recipient"], e["recipient"]), "purpose": e["purpose"],
             "attributes": e.get("attributes", []), "outcome": e["outcome"], "channel": e["channel"],
             **{k: e[k] for k in ("check", "rule", "reason", "withheld", "body_sha256") if k in e}}
            for e in civic.registry.store.log_for(person)]


@router.get("/{person}/export", summary="Right of access (UK GDPR Art. 15): facts, consents, disclosures")
def export(person: str, request: Request, reason: str | None = Query(None, max_length=500),
           org: Organisation = Depends(organisation)) -> dict:
    """A full export, in clear: only for the person's own portal and for staff, with the scope
    ``people:export`` and a recorded ``reason``; the export itself is an access-log entry."""
    _need(org, "people:export")
    if not reason or not reason.strip():
        raise ExportReasonRequiredError("a full export records why it was made: add ?reason=… "
                                        "(for example 'subject access request 2026-114')")
    civic = _civic(request)
    out = person_export(civic, person)
    civic.gate.read(org.id, person, "api:export", list(out["profile"]), "subject-access", reason=reason.strip())
    return out


def person_export(civic, person: str) -> dict:
    found = civic.registry.require(person)
    facts = civic.registry.store.facts_of([person])[person]
    sensitive = {a for a, s in civic.registry.attributes.items() if s.sensitive}
    shown = civic.registry.profile(person, reveal=tuple(sensitive))
    return {
        "person": person,
        "identifiers": found["identifiers"],
        "profile": {a: _fact(f) for a, f in shown.items()},
        "facts_held": len(facts),
        "consents": civic.consents.receipts(person),
        "disclosures": civic.registry.store.log_for(person),
        "generated_at": iso(civic.clock.now()),
    }
