"""The person's decisions, and asking for one to be looked at again (mandatory reconsideration).

From "Your decisions" a person asks in two clicks: "Ask for it to be looked at again", then
"Send my request". That publishes `civic.person.reconsideration-requested`; the
`reconsideration` moment opens a `mandatory-reconsideration` case, which a different decision
maker from the first review must decide, and then sends the notice with the outcome, the reason
and the right of appeal to the tribunal with its deadline (one month from the notice).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..domain.cases import CaseRuleError
from ..engine.appeals import SERVICE
from ..packs.templates import months_after
from .portal import TEXT_MAX, Portal

REQUESTED = "civic.person.reconsideration-requested"


def router(portal: Portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    def signed_in(request: Request) -> str:
        from .portal import SignInNeeded

        person = portal.person(request)
        if person is None:
            raise SignInNeeded()
        return person

    def review_case(person: str, case_id: str):
        """The person's own upheld review, or None: nobody asks about someone else's decision."""
        try:
            case = civic.cases.get(case_id)
        except CaseRuleError:
            return None
        ok = case.person == person and case.queue == "decision-review" and case.outcome == "upheld"
        return case if ok else None

    @r.get("/decisions")
    def decisions(request: Request, asked: str = "") -> Response:
        person = signed_in(request)
        return portal.page(request, "decisions.html", decisions=_decisions(portal, request, person), asked=bool(asked))

    @r.get("/decisions/{case_id}/reconsider")
    def confirm(request: Request, case_id: str) -> Response:
        person = signed_in(request)
        case = review_case(person, case_id)
        if case is None:
            return portal.page(request, "not_found.html", status=404)
        return portal.page(request, "reconsider.html", case=case, service=civic.services.service(SERVICE),
                           values={}, errors=[])

    @r.post("/decisions/{case_id}/reconsider")
    async def ask(request: Request, case_id: str) -> Response:
        person = signed_in(request)
        data = await portal.form(request)
        case = review_case(person, case_id)
        if case is None:
            return portal.page(request, "not_found.html", status=404)
        why = data.get("why", "")
        if len(why.strip()) > TEXT_MAX:
            lang = portal.lang(request)
            error = {"text": portal.words(lang, "err_too_long", limit=TEXT_MAX), "href": "#why"}
            return portal.page(request, "reconsider.html", status=400, case=case,
                               service=civic.services.service(SERVICE), values={"why": why}, errors=[error])
        if not _active_reconsideration(civic, person):  # asking twice is one request
            request_reconsideration(civic, person, case.id, why, channel="portal")
        return RedirectResponse("/decisions?asked=1", status_code=303)

    return r


def request_reconsideration(civic, person: str, review_case: str, why: str, channel: str) -> None:
    """Ask for a mandatory reconsideration of the reviewed decision, from the portal or by an officer."""
    service = civic.services.service(SERVICE)
    data = {"service": SERVICE, "service_name": service.name, "review_case": review_case, "channel": channel}
    if why.strip():
        data["why"] = why.strip()[:2000]
    civic.store.publish(REQUESTED, person, data, civic.clock.now())


def _active_reconsideration(civic, person: str) -> bool:
    if civic.cases.list(person=person, queue="mandatory-reconsideration",
                        status=["open", "assigned", "waiting-on-person", "waiting-on-agency"]):
        return True
    return any(j.moment == "reconsideration" and j.status.value == "active" for j in civic.store.journeys_for(person))


def _decisions(portal: Portal, request: Request, person: str) -> list[dict[str, Any]]:
    """The person's benefit decision, its review and any reconsideration, with what they may do next."""
    civic = portal.civic
    j = portal.journey(person)
    if j is None:
        return []
    assess = next((j.steps[s].result for s in ("reassess", "assess")
                   if j.steps.get(s) and isinstance(j.steps[s].result, dict) and j.steps[s].result.get("outputs")), {})
    review = j.steps.get("review")
    reviewed = review.result if review and review.status.value == "done" and isinstance(review.result, dict) else None
    name = portal.words.get(portal.lang(request), f"service.{SERVICE}", civic.services.service(SERVICE).name)
    item: dict[str, Any] = {"service": name, "refused": bool(assess.get("adverse")),
                            "awarded": bool(j.steps.get("award") and j.steps["award"].status.value == "done"),
                            "review": reviewed, "review_waiting": bool(review and review.status.value == "waiting")}
    if reviewed:
        case = civic.cases.get(reviewed["case"])
        item["review_case"] = case.id
        item["ask_by"] = _day(portal, request, months_after(case.resolved_at, 1))
    mrs = civic.cases.list(person=person, queue="mandatory-reconsideration", limit=5)
    if mrs:
        mr = mrs[-1]
        item["mr"] = {"status": mr.status.value, "outcome": mr.outcome, "reason": mr.outcome_reason}
        if mr.outcome == "upheld":
            item["appeal_by"] = _day(portal, request, months_after(mr.resolved_at, 1))
    item["can_ask"] = bool(reviewed and reviewed.get("outcome") == "upheld" and not mrs
                           and not _active_reconsideration(civic, person))
    return [item]


def _day(portal: Portal, request: Request, day) -> str:
    from babel.dates import format_date

    return format_date(day, format="long", locale=portal.civic.pack.settings.babel_locale(portal.lang(request)))
