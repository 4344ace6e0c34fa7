"""The work coach's single view of a person, and what they do from it: record a contact with
notes, record consent the person gave by phone (channel `assisted`), and send the person a job
as a message through the normal channels.

An officer sees a person only through one of their cases: the policy must let them
`view-person` on that case's queue, and the view goes through the privacy gate into the
person's access log as that officer, for that queue's purpose.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...domain.cases import CaseRuleError
from ...domain.disclosure import DisclosureRefusedError
from ...domain.ids import uuid7
from ...engine.errors import Problem
from ...engine.ports import Effect
from . import Console
from .assisted import assisted_context

CONTACT_WAYS = {"phone": "Phone call", "visit": "Visit", "office": "At the office", "video": "Video call"}
JOB_TEMPLATE = "job-from-work-coach"


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff/people", include_in_schema=False)
    civic = console.civic

    def through_case(officer, person: str, found=None):
        """The officer's active case for this person whose queue lets them view the person, or None."""
        found = civic.cases.list(person=person, officer=officer, limit=50) if found is None else found
        usable = [c for c in found if civic.cases.policy.allows(officer, "view-person", c.queue)]
        active = [c for c in usable if c.status.value != "resolved"]
        return (active or usable or [None])[0]

    def show(request: Request, officer, person: str, status: int = 200, errors=None, values=None) -> Response:
        theirs = civic.cases.list(person=person, officer=officer, limit=50)  # read once: the view and its list
        case = through_case(officer, person, theirs)
        if case is None:
            return console.page(request, "error.html", status=403, title="You cannot see this person",
                                message="You can see a person only through one of your cases.")
        try:
            facts = console.read_person(officer, person, case.queue)
        except DisclosureRefusedError as exc:
            return console.page(request, "error.html", status=403, title="You cannot see this person's data",
                                message=f"The privacy gate refused: {exc}. Your organisation sees a person only "
                                        "under an agreement, and with their consent where the purpose needs it.")
        full = console.sees_all(officer, case.queue)
        journeys, consents, messages, access = [], {}, [], []
        if full:  # a partner agency's officer sees the agreed facts and their own cases, nothing more
            for j in civic.store.journeys_for(person):
                found = civic.store.journey(j.id) or {"timeline": []}
                journeys.append({"journey": j, "timeline": found["timeline"][-15:]})
            for rec in civic.registry.store.consents_of(person):
                consents[rec.purpose] = rec  # the newest counts
            messages, access = civic.messenger.of_person(person), civic.registry.store.log_for(person, limit=30)
        names = {o["id"]: o["name"] for o in civic.store.organisations()}
        return console.page(
            request, "person.html", status=status, title="Single view", person=person, case=case, facts=facts,
            names=names, journeys=journeys, messages=messages, full=full,
            consents=consents, purposes=civic.pack.purposes,
            cases=theirs,
            awards=civic.payments.view(person) if full else [],  # amounts, days, file references
            access=access, ways=CONTACT_WAYS, **(assisted_context(console, person) if full else {}),
            errors=errors or [], values=values or {},
            name=" ".join(str(facts[a].value) for a in ("given_name", "family_name") if a in facts) or person)

    console.person_page, console.person_case = show, through_case  # for the assisted-service pages

    @r.get("/{person}")
    def single_view(request: Request, person: str) -> Response:
        officer = console.signed_in(request)
        try:
            return show(request, officer, person)
        except (Problem, CaseRuleError) as exc:  # an unknown person, a purpose not declared: a page
            return console.refused(request, exc)

    @r.post("/{person}/contact")
    async def contact(request: Request, person: str) -> Response:
        officer = console.signed_in(request)
        data = await console.form(request)
        errors = []
        if data.get("way") not in CONTACT_WAYS:
            errors.append({"text": "Select how you were in contact", "href": "#way"})
        if not data.get("notes", "").strip():
            errors.append({"text": "Enter what you talked about", "href": "#notes"})
        case = through_case(officer, person)
        if case is None or errors:
            return show(request, officer, person, status=422 if case else 403, errors=errors, values=data)
        text = f"{CONTACT_WAYS[data['way']]}: {data['notes'].strip()}"
        try:
            civic.cases.note(case.id, officer, text, case.version)
        except CaseRuleError as exc:
            return show(request, officer, person, status=exc.status, values=data,
                        errors=[{"text": exc.detail, "href": "#notes"}])
        purpose = data.get("consent_purpose", "")
        if purpose and data.get("way") in ("phone", "video", "visit", "office"):
            if purpose not in civic.pack.purposes:
                return show(request, officer, person, status=422, values=data,
                            errors=[{"text": "Select a purpose the person agreed to", "href": "#consent_purpose"}])
            try:
                civic.consents.give(person, purpose, channel="assisted")  # given to an officer, not online
            except Problem as exc:
                return show(request, officer, person, status=exc.status, values=data,
                            errors=[{"text": exc.detail, "href": "#consent_purpose"}])
            civic.cases.note(case.id, officer, f"Consent given by the person, {CONTACT_WAYS[data['way']].lower()}, "
                             f"for {civic.pack.purposes[purpose].title}", case.version + 1)
        return RedirectResponse(f"/staff/people/{person}?done=contact", status_code=303)

    @r.post("/{person}/job")
    async def send_job(request: Request, person: str) -> Response:
        officer = console.signed_in(request)
        data = await console.form(request)
        errors = [{"text": f"Enter the {label}", "href": f"#job-{field}"} for field, label in
                  (("title", "job title"), ("employer", "employer"), ("details", "details for the person"))
                  if not data.get(field, "").strip()]
        case = through_case(officer, person)
        if case is None or errors:
            return show(request, officer, person, status=422 if case else 403, errors=errors, values=data)
        values = {"title": data["title"].strip()[:200], "employer": data["employer"].strip()[:200],
                  "details": data["details"].strip()[:2000], "coach": officer.name}
        key = f"staff-job:{uuid7()}"
        (result,) = civic.messenger.perform([Effect(key, None, person, "staff-job", "notify", {
            "spec": {"template": JOB_TEMPLATE}, "personalisation": {"values": values}}, 1, 0.0, 0, 1)])
        if result.verdict.value != "done":
            return show(request, officer, person, status=409, values=data,
                        errors=[{"text": f"The message was not sent: {result.error}", "href": "#job-title"}])
        civic.cases.note(case.id, officer, f"Sent a job: {values['title']} at {values['employer']}", case.version)
        return RedirectResponse(f"/staff/people/{person}?done=job", status_code=303)

    return r


