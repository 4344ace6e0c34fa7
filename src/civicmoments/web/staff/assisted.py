"""Assisted service from the single view: what the portal lets a person do, an officer does for
them, recording that they did and how the person asked (the seed's digital equity: no one is
left out for not being online).

From a person's single view a work coach can record and agree the claimant commitment (shown to
the person in the portal), record reasonable adjustments and an appointee, enter contact details
the person gives (facts the person declared, recorded through the officer), book or cancel an
interview with the partner (engine/interviews.py, as the portal does), and answer the survey
for the person. Each is a note on the officer's case for the person, naming how they asked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...domain.cases import CaseRuleError
from ...domain.organisations import Organisation
from ...engine.errors import Problem
from ...engine.support import HOW
from . import Console

CONTACT_FIELDS = {"phone": "phone number", "email": "email address"}


def assisted_context(console: Console, person: str) -> dict[str, Any]:
    """What the single view shows for assisted service: the records in force, the interviews the
    person's plan offers (and the booking). The survey has its own page (``/survey``): working out
    what it asks decides the person's services, too much for every view of the person."""
    civic = console.civic
    support = civic.support.current(person)
    try:
        offered = civic.interviews.offered(person)
    except Problem:  # no plan yet: nothing to book
        offered = []
    booking = None
    for j in civic.store.journeys_for(person):
        step = j.steps.get("interview")
        if j.status.value == "active" and step is not None and isinstance(step.result, dict) \
                and step.result.get("starts"):
            gone = j.steps.get("interview-cancelled")
            if not (gone is not None and gone.status.value == "done"):
                booking = step.result
    return {"support": support, "offered": offered, "booking": booking, "how": HOW}


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff/people", include_in_schema=False)
    civic = console.civic

    async def start(request: Request, person: str):
        """The officer, the form, and the case the officer sees the person through (may act on)."""
        officer = console.signed_in(request)
        data = await console.form(request)
        case = console.person_case(officer, person)
        if case is not None:
            civic.cases.permit(officer, "act", case.queue, case.id)
            if not console.sees_all(officer, case.queue):  # a partner agency's officer does not act for them
                case = None
        return officer, data, case

    def page(request, officer, person, errors, values, status=422):
        return console.person_page(request, officer, person, status=status, errors=errors, values=values)

    def noted(officer, case, text: str, person: str, done: str) -> Response:
        civic.cases.log(case.id, officer, "note", {"text": text})
        return RedirectResponse(f"/staff/people/{person}?done={done}", status_code=303)

    def how_of(data) -> str | None:
        return data.get("how") if data.get("how") in HOW else None

    async def guarded(request: Request, person: str, handler) -> Response:
        try:
            officer, data, case = await start(request, person)
        except CaseRuleError as exc:
            return console.refused(request, exc)
        if case is None:
            return console.page(request, "error.html", status=403, title="You cannot act for this person",
                                message="You can act for a person only through one of your cases.")
        errors = [] if how_of(data) else [{"text": "Select how the person asked", "href": "#how-" + handler.__name__}]
        return handler(request, officer, data, case, person, errors)

    def support_record(kind: str, words: str):
        def handler(request, officer, data, case, person, errors):
            if errors:
                return page(request, officer, person, errors, data)
            fields = {"commitment": {"actions": data.get("actions", ""), "hours": data.get("hours", ""),
                                     "agreed": data.get("agreed") == "yes"},
                      "adjustments": {"adjustments": data.get("adjustments", "")},
                      "appointee": {k: data.get(k, "") for k in ("name", "relationship", "phone")}}[kind]
            try:
                civic.support.record(officer, person, kind, fields, data["how"])
            except Problem as exc:
                field = exc.errors[0]["pointer"].lstrip("/") if exc.errors else kind
                return page(request, officer, person, [{"text": f"Check the {words}: {exc.detail}",
                                                        "href": f"#{kind}-{field}"}], data)
            agreed = " The person agreed it." if kind == "commitment" and fields.get("agreed") else ""
            return noted(officer, case, f"Recorded the {words}, as the person asked {HOW[data['how']]}.{agreed}",
                         person, kind)
        handler.__name__ = kind
        return handler

    for kind, words in (("commitment", "claimant commitment"), ("adjustments", "reasonable adjustments"),
                        ("appointee", "appointee")):
        def bind(k=kind, w=words):
            async def route(request: Request, person: str) -> Response:
                return await guarded(request, person, support_record(k, w))
            route.__name__ = f"staff_person_{k}"
            return route
        r.post(f"/{{person}}/{kind}")(bind())

    def contact_details(request, officer, data, case, person, errors):
        given = {k: data.get(k, "").strip() for k in CONTACT_FIELDS if data.get(k, "").strip()}
        if not given:
            errors.append({"text": "Enter a phone number or an email address", "href": "#details-phone"})
        if errors:
            return page(request, officer, person, errors, data)
        source = Organisation(console.organisation_id(officer.organisation), officer.organisation, (),
                              ("facts:contact",))
        try:  # the person's own word, given through the officer: declared, bronze, channel assisted
            civic.registry.record(source, person, [{"attribute": k, "value": v, "basis": "declared", "tier": "bronze"}
                                                   for k, v in given.items()])
        except Problem as exc:
            return page(request, officer, person, [{"text": f"Check the contact details: {exc.detail}",
                                                    "href": "#details-phone"}], data)
        what = " and ".join(CONTACT_FIELDS[k] for k in given)
        return noted(officer, case, f"Recorded the {what} the person gave {HOW[data['how']]} "
                     "(channel: assisted).", person, "contact-details")

    def book(request, officer, data, case, person, errors):
        job, _, slot = data.get("choice", "").partition("|")
        if not job or not slot:
            errors.append({"text": "Select a job and a time", "href": "#interview-choice"})
        if errors:
            return page(request, officer, person, errors, data)
        try:
            booked = civic.interviews.book(person, job, slot)
        except Problem as exc:
            return page(request, officer, person, [{"text": exc.detail, "href": "#interview-choice"}], data,
                        status=exc.status)
        return noted(officer, case, f"Booked an interview for the person: {booked['title']} at {booked['employer']}, "
                     f"{slot} (reference {booked['reference']}), as they asked {HOW[data['how']]}.",
                     person, "interview")

    def cancel(request, officer, data, case, person, errors):
        if errors:
            return page(request, officer, person, errors, data)
        try:
            done = civic.interviews.cancel(person, data.get("job", ""), data.get("slot", ""))
        except Problem as exc:
            return page(request, officer, person, [{"text": exc.detail, "href": "#interview-cancel"}], data,
                        status=exc.status)
        return noted(officer, case, f"Cancelled the interview for the person: {done['title']}, {done['starts']}, "
                     f"as they asked {HOW[data['how']]}.", person, "interview-cancelled")

    def survey_page(request, officer, person, errors, values, status=200):
        return console.page(request, "survey.html", status=status, title="Answer the survey for the person",
                            person=person, survey=console.portal._survey(person)["ask"], how=HOW,
                            errors=errors, values=values)

    @r.get("/{person}/survey")
    def survey_form(request: Request, person: str) -> Response:
        officer = console.signed_in(request)
        case = console.person_case(officer, person)
        if case is None or not civic.cases.policy.allows(officer, "act", case.queue) \
                or not console.sees_all(officer, case.queue):
            return console.page(request, "error.html", status=403, title="You cannot act for this person",
                                message="You can act for a person only through one of your cases.")
        return survey_page(request, officer, person, [], {})

    def survey(request, officer, data, case, person, errors):
        plan = console.portal._survey(person)
        asked = [q["attribute"] for q in plan["ask"]]
        answers, wrong = console.portal._check(request, data, asked)
        errors += [{"text": e["text"], "href": f"#survey-{e['field']}"} for e in wrong]
        if not errors and not answers:
            errors.append({"text": "Enter at least one answer", "href": "#survey"})
        if errors:
            return survey_page(request, officer, person, errors, data, status=422)
        civic.questions.answer(person, answers, assisted={"officer": officer.id, "how": data["how"]})
        return noted(officer, case, f"Answered the survey for the person ({', '.join(sorted(answers))}), "
                     f"as they asked {HOW[data['how']]}: done for them.", person, "survey")

    for path, handler in (("contact-details", contact_details), ("interview", book),
                          ("interview/cancel", cancel), ("survey", survey)):
        handler.__name__ = path.replace("/", "-")

        def bind2(h=handler):
            async def route(request: Request, person: str) -> Response:
                return await guarded(request, person, h)
            route.__name__ = f"staff_person_{h.__name__}"
            return route
        r.post(f"/{{person}}/{path}")(bind2())
    return r
