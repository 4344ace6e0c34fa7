"""A case: what it is about, its timeline, and the actions an officer may take on it (assign to
me, note, resolve with an outcome the queue allows and a reason, refer to another queue).

Every form carries the version of the case the officer saw. When the case changed since, the
core refuses (409) and the page says so in an error summary, showing the case as it is now, so
nothing is lost and nothing is overwritten. For a decision-review case the page shows the
decision under review: its inputs with source and tier, the rules and the law, and the plain
explanation.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...domain.cases import CaseRuleError
from ...domain.disclosure import DisclosureRefusedError
from ...engine.appeals import APPEAL_CHANNELS
from ...engine.errors import Problem
from ...engine.evidence import ACCEPTED
from . import Console

DECISION_QUEUES = ("decision-review", "mandatory-reconsideration", "appeal")
APPEAL_FIELDS = {"case": "#appeal", "channel": "#appeal-channel", "received_on": "#appeal-received",
                 "reference": "#appeal-reference"}
OUTCOME_WORDS = {"upheld": "Uphold the decision", "overturned": "Overturn the decision",
                 "evidence-requested": "Ask the person for evidence", "withdrawn": "Withdrawn",
                 "contacted": "Contacted", "done": "Done", "unreachable": "Could not reach them",
                 "accepted": "Accept the correction", "rejected": "Reject", "verified": "Verified"}


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff/cases", include_in_schema=False)
    civic = console.civic

    def show(request: Request, officer, case_id: str, status: int = 200, errors: list | None = None,
             values: dict | None = None) -> Response:
        try:
            case = civic.cases.get(case_id, officer=officer)
        except CaseRuleError as exc:
            return console.refused(request, exc)
        return console.page(request, "case.html", status=status, title=f"Case {case.id[-8:]}", case=case,
                            errors=errors or [], values=values or {}, **_context(console, officer, case))

    @r.get("/{case_id}")
    def case_page(request: Request, case_id: str) -> Response:
        officer = console.signed_in(request)
        return show(request, officer, case_id)

    async def act(request: Request, case_id: str, action: str) -> Response:
        officer = console.signed_in(request)
        data = await console.form(request)
        errors = _check(action, data)
        if errors:
            return show(request, officer, case_id, status=422, errors=errors, values=data)
        try:
            version = int(data.get("version", ""))
        except ValueError:
            version = -1
        try:
            if action == "assign":
                civic.cases.assign(case_id, officer, version)
            elif action == "note":
                civic.cases.note(case_id, officer, data["text"].strip(), version)
            elif action == "resolve":  # accepting a correction also records the right value (value, basis)
                civic.cases.resolve(case_id, officer, data["outcome"], data["reason"].strip(), version,
                                    value=data.get("value"), basis=data.get("basis"))
            elif action == "refer":
                civic.cases.refer(case_id, officer, data["to_queue"], data.get("note", "").strip(), version)
        except CaseRuleError as exc:  # the core's refusals: 403, 404, 409, 422, each with words for people
            return show(request, officer, case_id, status=exc.status, values=data,
                        errors=[{"text": _refusal(exc), "href": f"#{action}"}])
        except Problem as exc:  # the corrected value does not fit its attribute
            return show(request, officer, case_id, status=exc.status, values=data,
                        errors=[{"text": f"The right value is not valid: {exc.detail}", "href": "#corrected-value"}])
        return RedirectResponse(f"/staff/cases/{case_id}?done={action}", status_code=303)

    @r.get("/{case_id}/evidence/{evidence_id}")
    def evidence(request: Request, case_id: str, evidence_id: str) -> Response:
        """A document the person attached, as it was sent; the reading is in their access log."""
        officer = console.signed_in(request)
        try:
            row, data = civic.evidence.read(officer, case_id, evidence_id)
        except CaseRuleError as exc:
            return console.refused(request, exc)
        return document(row, data)

    @r.post("/{case_id}/appeal")
    async def record_appeal(request: Request, case_id: str) -> Response:
        """Record that the person appealed to the tribunal against a reconsideration that kept the
        decision (engine/appeals.py): its journey opens an `appeal` case."""
        officer = console.signed_in(request)
        data = await console.form(request)
        try:
            civic.cases.permit(officer, "act", "appeal", case_id)
            case = civic.cases.get(case_id, officer=officer)
        except CaseRuleError as exc:
            return console.refused(request, exc)
        wrong = civic.appeals.problems(case, data.get("channel"), data.get("received_on"), data.get("reference"))
        if wrong:
            return show(request, officer, case_id, status=422, values=data,
                        errors=[{"text": words, "href": APPEAL_FIELDS[field]} for field, words in wrong])
        try:
            civic.appeals.record(case_id, officer, data["channel"], data["received_on"], data.get("reference"))
        except CaseRuleError as exc:  # already recorded (409), or the case changed meanwhile
            return show(request, officer, case_id, status=exc.status, values=data, errors=[
                {"text": "An appeal is already recorded for this person" if exc.status == 409 else exc.detail,
                 "href": "#appeal"}])
        return RedirectResponse(f"/staff/cases/{case_id}?done=appeal", status_code=303)

    for name in ("assign", "note", "resolve", "refer"):
        def bind(action: str = name):
            async def handler(request: Request, case_id: str) -> Response:
                return await act(request, case_id, action)
            handler.__name__ = f"staff_case_{action}"
            return handler
        r.post(f"/{{case_id}}/{name}")(bind())
    return r


def document(row: dict[str, Any], data: bytes) -> Response:
    """A document a person attached, as a download: its own type, never sniffed or cached."""
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", row["filename"]) or "document"
    return Response(data, media_type=row["media_type"], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store"})


def _check(action: str, data: dict[str, str]) -> list[dict[str, str]]:
    """Missing fields, said the GOV.UK way, each linked to its field."""
    errors = []
    if action == "note" and not data.get("text", "").strip():
        errors.append({"text": "Enter a note", "href": "#note-text"})
    if action == "resolve":
        if not data.get("outcome"):
            errors.append({"text": "Select an outcome", "href": "#outcome"})
        if not data.get("reason", "").strip():
            errors.append({"text": "Enter the reason for the outcome", "href": "#reason"})
    if action == "resolve" and data.get("outcome") == "accepted" and "value" in data:  # a correction
        if not data.get("value", "").strip():
            errors.append({"text": "Enter the right value", "href": "#corrected-value"})
        if not data.get("basis", "").strip():
            errors.append({"text": "Enter what you checked", "href": "#basis"})
    if action == "refer" and not data.get("to_queue"):
        errors.append({"text": "Select the queue to refer the case to", "href": "#to_queue"})
    return errors


def _refusal(exc: CaseRuleError) -> str:
    if exc.status == 409 and "version" in exc.slug:
        return ("Someone else changed this case since you opened it. It is shown below as it is now: "
                "check it, then try again.")
    if exc.slug == "reviewer-must-differ":
        return "You made the first review of this decision, so a different decision maker must decide it."
    return exc.detail


def _context(console: Console, officer, case) -> dict[str, Any]:
    civic = console.civic
    queue = civic.cases.queues.get(case.queue)
    outcomes = [(o, OUTCOME_WORDS.get(o, o.replace("-", " ").capitalize())) for o in (queue.outcomes if queue else [])]
    decision = None
    if case.queue in DECISION_QUEUES:
        decision = _decision(civic, case)
    names = {o["id"]: o["name"] for o in civic.store.organisations()}
    person_name = None
    if civic.cases.policy.allows(officer, "view-person", case.queue):
        shown = [i.get("attribute") for i in (decision or {}).get("inputs", []) if i.get("attribute")]
        try:
            facts = console.read_person(officer, case.person, case.queue, ("given_name", "family_name", *shown))
        except DisclosureRefusedError:  # a partner agency without an agreement (or consent) sees no name
            facts = {}
        person_name = " ".join(str(facts[a].value) for a in ("given_name", "family_name") if a in facts) or None
    timeline = [{"title": ENTRY_WORDS.get(e.action, e.action.replace("-", " ").capitalize()),
                 "by": console.officer_name(e.actor), "at": e.at.isoformat(), "text": _entry_text(civic, e)}
                for e in reversed(case.timeline)]
    first = _first_review(civic, case)
    first_review = None
    if first is not None:
        first_review = {"by": console.officer_name(first.resolved_by), "outcome": first.outcome,
                        "reason": first.outcome_reason, "same": first.resolved_by == officer.id}
    evidence = []
    if civic.cases.policy.allows(officer, "view-person", case.queue):
        evidence = [{**e, "kind": ACCEPTED.get(e["media_type"], e["media_type"]), "kb": max(1, round(e["size"] / 1000))}
                    for e in civic.evidence.listed(case.id)]
    bank_change = _bank_change(case) if civic.cases.policy.allows(officer, "view-person", case.queue) else None
    return {"bank_change": bank_change, "evidence": evidence, "first_review": first_review, "queue": queue, "outcomes": outcomes, "decision": decision, "names": names, "person_name": person_name,
            "refer_to": [q for q in civic.cases.queues.values() if q.id != case.queue], "timeline": timeline,
            "assignee_name": console.officer_name(case.assignee) if case.assignee else None,
            "case_status": case.status.value, "may_act": civic.cases.policy.allows(officer, "act", case.queue),
            "may_resolve": civic.cases.policy.allows(officer, "resolve", case.queue),
            "may_record_appeal": case.queue == "mandatory-reconsideration" and case.outcome == "upheld"
            and civic.cases.policy.allows(officer, "act", "appeal"), "appeal_channels": APPEAL_CHANNELS}


ENTRY_WORDS = {"evidence-added": "Document attached", "opened": "Case opened", "assigned": "Assigned", "note": "Note", "waiting": "Waiting",
               "resolved": "Resolved", "referred": "Referred", "task-added": "Task added"}


def _entry_text(civic, e) -> str:
    d = e.detail
    if e.action == "note":
        return d.get("text", "")
    if e.action == "resolved":
        return f"{OUTCOME_WORDS.get(d.get('outcome'), d.get('outcome'))}: {d.get('reason', '')}"
    if e.action == "evidence-added":
        return f"{d.get('filename', '')} ({ACCEPTED.get(d.get('media_type'), '')})"
    if e.action == "referred":
        to = civic.cases.queues.get(d.get("to"))
        return f"To {to.title if to else d.get('to')}. {d.get('note', '')}".strip()
    if e.action == "assigned":
        found = civic.officers.store.officer(id=d.get("assignee"))
        return f"To {found.name if found else d.get('assignee')}"
    if e.action == "opened":
        return f"Priority {d.get('priority', 'normal')}"
    if e.action == "waiting":
        return f"On the {d.get('on')}"
    return d.get("text", "")


def _bank_change(case) -> dict[str, str] | None:
    """What an officer checks on a change of bank details (a ``verification`` case with ``data.change``):
    the new account's last four digits (never the whole number), where the code went (masked, as the
    person was shown it), and when the change was confirmed (UK local time); None for other cases."""
    from ... import formats

    d = case.data or {}
    if not d.get("change"):
        return None
    by = {"sms": "By text message to a number ending", "email": "By email to"}.get(d.get("sent_to", ""), "To")
    return {"last4": str(d.get("last4") or "")[-4:] or "not recorded",
            "code": f"{by} {d['to']}" if d.get("to") else f"{by} a contact detail we hold (not recorded)",
            "at": formats.when(d["changed_at"]) if d.get("changed_at") else formats.when(case.opened_at)}


def _first_review(civic, case):
    """For a reconsideration or an appeal: the earlier review it looks at again, or None."""
    first = case.data.get("first_review")
    if not first:
        return None
    try:
        return civic.cases.get(first)
    except CaseRuleError:
        return None


def _decision(civic, case) -> dict[str, Any] | None:
    """The decision under review: the latest decide step's result on the journey of the case, or of
    the first review when this case looks at a decision again."""
    first = _first_review(civic, case)
    journey = first.journey if first is not None and first.journey else case.journey
    if not journey:
        return case.data.get("decision")
    found = civic.store.journey(journey)
    if found is None:
        return None
    steps = found["journey"].steps
    for sid in ("reassess", "assess"):
        if sid in steps and isinstance(steps[sid].result, dict) and steps[sid].result.get("outputs"):
            return steps[sid].result
    return None
