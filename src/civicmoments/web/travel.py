"""The travel-card page (``/travel``): the person registers their card for the fare concession.

Registering says yes to the fare-concession purpose in so many words (a checkbox the person
ticks); the card is kept only as a keyed hash. Bad input gets a GOV.UK error summary that
keeps what was typed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..engine.errors import Problem

PURPOSE = "fare-concession"


def router(portal, signed_in) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    def show(request: Request, status: int = 200, **context) -> Response:
        person = signed_in(request)
        states = {s.purpose: s for s in civic.consents.statuses(person)}
        return portal.page(request, "travel.html", status=status, state=states[PURPOSE].state,
                           values=context.pop("values", {}), errors=context.pop("errors", []), **context)

    @r.get("/travel", response_class=HTMLResponse)
    def travel(request: Request) -> Response:
        return show(request)

    @r.post("/travel", response_class=HTMLResponse)
    async def register(request: Request) -> Response:
        person = signed_in(request)
        data = await portal.form(request)
        w, lang = portal.words, portal.lang(request)
        card = data.get("card", "").strip().upper().replace(" ", "")
        errors = []
        if not card:
            errors.append({"text": w(lang, "travel_err_card"), "href": "#card", "field": "card"})
        if data.get("agree") != "yes":
            errors.append({"text": w(lang, "travel_err_agree"), "href": "#agree", "field": "agree"})
        if not errors:
            try:
                civic.transit.register(person, card, channel="portal")
            except Problem:
                errors.append({"text": w(lang, "travel_err_card"), "href": "#card", "field": "card"})
        if errors:
            return show(request, status=400, values=data, errors=errors)
        return show(request, registered=True)

    return r
