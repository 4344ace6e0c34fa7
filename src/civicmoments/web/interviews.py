"""Booking an interview from the plan (``/plan/book``), its confirmation, and cancelling it
(``/plan/cancel``).

A booking is held at the partner before the page says it is booked. A slot someone else
has taken gets a GOV.UK error summary naming the times still free, with the form kept; no
consent gets an error summary saying nothing was sent and where to give it. The
confirmation shows the job, employer, time, reference and a link to cancel; cancelling
frees the slot at the partner and the plan shows the booking as cancelled.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from .. import formats
from ..engine.errors import Problem, SlotTakenError


def router(portal, signed_in) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    def plan_with(request: Request, person: str, status: int, errors: list[dict]) -> Response:
        return portal.page(request, "plan.html", status=status, errors=errors, **portal._plan(request, person))

    @r.post("/plan/book", response_class=HTMLResponse)
    async def book(request: Request) -> Response:
        person = signed_in(request)
        data = await portal.form(request)
        w, lang = portal.words, portal.lang(request)
        job, _, slot = data.get("slot", "").partition("|")
        if not slot:
            return plan_with(request, person, 400, [
                {"text": w(lang, "err_slot"), "href": "#slot"}])
        try:
            booking = civic.interviews.book(person, job, slot)
        except SlotTakenError as exc:  # someone else holds it at the partner: offer the rest
            free = ", ".join(portal.when(request, s) for s in exc.free_slots)
            text = w(lang, "plan_slot_taken", when=portal.when(request, slot),
                     free=free or w(lang, "plan_slot_none_free"))
            return plan_with(request, person, exc.status, [{"text": text, "href": "#slot"}])
        except Problem as exc:  # not on offer any more, or no consent: say so on the page
            return plan_with(request, person, exc.status, [{"text": exc.detail, "href": "#slot"}])
        return portal.page(request, "interview.html", booking={**booking, "when": portal.when(request, slot),
                                                             "address": ", ".join(
                                                                 x for x in (booking.get("employer"), booking.get("town"))
                                                                 if x),
                                                             "title": formats.job_title(booking.get("title", ""))},
                           cancelled=False)

    @r.get("/plan/interview.ics")
    def calendar(request: Request) -> Response:
        """The person's own interview as an iCalendar file, from the portal (not the API)."""
        person = signed_in(request)
        j = portal.journey(person)
        booked = j.steps.get("interview").result if j and j.steps.get("interview") else None
        if not booked or not booked.get("starts"):
            return portal.page(request, "not_found.html", status=404)
        return Response(civic.interviews.ics(person, j.id), media_type="text/calendar",
                        headers={"Content-Disposition": 'attachment; filename="interview.ics"'})

    @r.get("/plan/cancel", response_class=HTMLResponse)
    def confirm_cancel(request: Request, job: str = "", slot: str = "") -> Response:
        signed_in(request)
        return portal.page(request, "interview_cancel.html", job=job, slot=slot,
                           when=portal.when(request, slot) if slot else "")

    @r.post("/plan/cancel", response_class=HTMLResponse)
    async def cancel(request: Request) -> Response:
        person = signed_in(request)
        data = await portal.form(request)
        try:
            done = civic.interviews.cancel(person, data.get("job", ""), data.get("slot", ""))
        except Problem as exc:
            return plan_with(request, person, exc.status, [{"text": exc.detail, "href": "#jobs"}])
        return portal.page(request, "interview.html", booking={**done, "when": portal.when(request, done["starts"]),
                                                             "title": formats.job_title(done.get("title", ""))},
                           cancelled=True)

    return r
