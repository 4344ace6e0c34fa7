"""The lifetime pages: offers to take up or decline (``/lifetime``), and moving home (``/lifetime/move``).

An offer the platform made proactively (Child Benefit after a birth, Bereavement Support
Payment, registering to vote, a provisional licence) waits for one click: "Accept" is the
claim, "No thanks" stops the reminders; either is the person's ``civic.offer.answered``.

Moving home shows, before, every agency that will be told and lets the person leave any of
them out (a person with a confidentiality marker sees only the council, which the law
requires); after, who was told. The address is checked against the event type's rules, and
each broken rule is named in a GOV.UK error summary.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..engine.lifetime import MOVE

OFFERS = {  # moment -> (the step waiting for the answer, the service offered)
    "birth": ("claim", "child-benefit"),
    "bereavement": ("claim", "bereavement-support-payment"),
    "register-to-vote": ("answer", "register-to-vote"),
    "provisional-licence": ("answer", "provisional-licence"),
}
AGENCIES = {  # the moving-home step, and what the person may leave out
    "council-tax": "council-tax", "electoral-register": "electoral-register",
    "driving-licence": "driving-licence", "gp": "gp"}
REQUIRED_BY_LAW = ("council-tax",)


def router(portal, signed_in) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    def offers(person: str) -> list[dict]:
        out = []
        for j in civic.store.journeys_for(person, limit=50):
            step, service = OFFERS.get(j.moment, (None, None))
            if step and j.status.value == "active" and j.steps[step].status.value == "waiting":
                out.append({"service": service, "moment": j.moment})
        return out

    @r.get("/lifetime", response_class=HTMLResponse)
    @r.get("/lifetime/child-benefit", response_class=HTMLResponse)
    @r.get("/lifetime/bereavement", response_class=HTMLResponse)
    def lifetime(request: Request, answered: str | None = None) -> Response:
        person = signed_in(request)
        return portal.page(request, "lifetime.html", offers=offers(person), answered=answered, errors=[])

    @r.post("/lifetime/answer", response_class=HTMLResponse)
    async def answer(request: Request) -> Response:
        person = signed_in(request)
        data = await portal.form(request)
        service, choice = data.get("service", ""), data.get("answer", "")
        if service not in {o["service"] for o in offers(person)} or choice not in ("accepted", "declined"):
            return portal.page(request, "lifetime.html", status=400, offers=offers(person), answered=None,
                               errors=[{"text": portal.words(portal.lang(request), "life_err_offer"), "href": "#offers"}])
        civic.store.publish("civic.offer.answered", person, {"service": service, "answer": choice}, civic.clock.now())
        return RedirectResponse(f"/lifetime?answered={choice}", status_code=303)

    def protected(person: str) -> bool:
        fact = civic.registry.profiles([person], only=["confidentiality_marker"]).get(person, {}).get(
            "confidentiality_marker")
        return bool(fact and fact.value is True)

    def told(person: str) -> list[dict]:
        """The last move's agencies, each told or not (the journey's share steps)."""
        moves = [j for j in civic.store.journeys_for(person, limit=50) if j.moment == "moving-home"]
        if not moves:
            return []
        j = moves[0]
        return [{"agency": a, "status": j.steps[a].status.value} for a in AGENCIES if a in j.steps]

    def move_page(request: Request, status: int = 200, **context) -> Response:
        person = signed_in(request)
        shown = REQUIRED_BY_LAW if protected(person) else tuple(AGENCIES)
        return portal.page(request, "lifetime_move.html", status=status, agencies=shown, told=told(person),
                           values=context.pop("values", {}), errors=context.pop("errors", []), **context)

    @r.get("/lifetime/move", response_class=HTMLResponse)
    def move(request: Request) -> Response:
        return move_page(request)

    @r.post("/lifetime/move", response_class=HTMLResponse)
    async def moved(request: Request) -> Response:
        person = signed_in(request)
        form = await request.form()
        data = await portal.form(request)
        w, lang = portal.words, portal.lang(request)
        keep = set(form.getlist("tell"))
        errors = []
        try:
            day = date(int(data.get("moved-year", "")), int(data.get("moved-month", "")), int(data.get("moved-day", "")))
        except ValueError:
            day = None
            errors.append({"text": w(lang, "life_err_moved_on"), "href": "#moved", "field": "moved_on"})
        shown = REQUIRED_BY_LAW if protected(person) else tuple(AGENCIES)
        event = {"address_line_1": data.get("address_line_1", "").strip(), "town": data.get("town", "").strip(),
                 "postcode": " ".join(data.get("postcode", "").upper().split()),
                 "moved_on": day.isoformat() if day else "2000-01-01",
                 "leave_out": [a for a in AGENCIES if a not in keep or a not in shown]}
        for v in civic.pack.event_types[MOVE].violations(event, civic.clock.now().date()):
            field = v.pointer.removeprefix("/data/").split("/")[0]
            if field == "moved_on" and day is None:
                continue
            key = {"address_line_1": "life_err_line", "town": "life_err_town", "postcode": "life_err_postcode",
                   "moved_on": "life_err_moved_on"}.get(field, "life_err_line")
            anchor = "moved" if field == "moved_on" else field
            errors.append({"text": w(lang, key), "href": f"#{anchor}", "field": field})
        if errors:
            return move_page(request, status=400, values=data, errors=errors, kept=keep)
        civic.store.publish(MOVE, person, event, civic.clock.now())
        return move_page(request, done=True, leaving=event["leave_out"])

    return r
