"""The person's decisions, and asking for one to be looked at again (mandatory reconsideration).

"Your decisions" lists every decision about the person: the benefit decision of their job-loss
journey, and each stop of a benefit after a reported new job (the back-in-work journey), each with
its explanation. From any decision a decision maker kept against them, a person asks in two
clicks: "Ask for it to be looked at again", then "Send my request". That publishes `civic.person.reconsideration-requested`; the
`reconsideration` moment opens a `mandatory-reconsideration` case, which a different decision
maker from the first review must decide, and then sends the notice with the outcome, the reason
and the right of appeal to the tribunal with its deadline (one month from the notice).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..domain.cases import CaseRuleError
from ..engine.appeals import SERVICE
from ..packs.templates import months_after
from .portal import TEXT_MAX, Portal

REQUESTED = "civic.person.reconsideration-requested"
STOP_MOMENT = "back-in-work"  # its review keeps or overturns a benefit stop


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
        if not _active_reconsideration(civic, person, case.id):  # asking twice is one request
            request_reconsideration(civic, person, case.id, why, channel="portal")
        return RedirectResponse("/decisions?asked=1", status_code=303)

    return r


def request_reconsideration(civic, person: str, review_case: str, why: str, channel: str) -> None:
    """Ask for a mandatory reconsideration of the reviewed decision, from the portal or by an officer.

    A kept stop of a benefit (the back-in-work journey's review) carries ``decision: benefit-stop`` and
    ``stopped_from`` (ISO date), so that overturning it restores the benefit from that day."""
    service = civic.services.service(SERVICE)
    data = {"service": SERVICE, "service_name": service.name, "review_case": review_case, "channel": channel}
    stop = _stop_of(civic, review_case)
    if stop is not None:
        data.update(decision="benefit-stop", stopped_from=stop)
    if why.strip():
        data["why"] = why.strip()[:2000]
    civic.store.publish(REQUESTED, person, data, civic.clock.now())


def _stop_of(civic, review_case: str) -> str | None:
    """The day a benefit stopped from, when ``review_case`` is a back-in-work journey's review; else None."""
    try:
        case = civic.cases.get(review_case)
    except CaseRuleError:
        return None
    if not case.journey or case.data.get("moment") != STOP_MOMENT:
        return None
    journey = next((j for j in civic.store.journeys_for(case.person) if j.id == case.journey), None)
    day = ((journey.trigger.get("data") or {}) if journey else {}).get("start_date")
    return day if isinstance(day, str) else None


OPEN = ["open", "assigned", "waiting-on-person", "waiting-on-agency"]


def _asked_about(case, review_case: str | None) -> bool:
    """Whether a mandatory reconsideration case is about ``review_case`` (None: the job-loss decision,
    which also owns requests made before they named their review)."""
    named = (case.data.get("request") or {}).get("review_case")
    return named == review_case or (review_case is None and not named)


def _active_reconsideration(civic, person: str, review_case: str) -> bool:
    """Whether a reconsideration of ``review_case`` is already asked for and not yet decided."""
    if any(_asked_about(c, review_case) for c in civic.cases.list(
            person=person, queue="mandatory-reconsideration", status=OPEN)):
        return True
    return any(j.moment == "reconsideration" and j.status.value == "active"
               and (j.trigger.get("data") or {}).get("review_case") == review_case
               for j in civic.store.journeys_for(person))


def _decisions(portal: Portal, request: Request, person: str) -> list[dict[str, Any]]:
    """Every decision about the person, newest journey last: the benefit decision of the job-loss journey
    and each benefit stop after a new job, each with its review, any reconsideration, and what they may
    do next. An item: ``{kind: award|stop, service, review, review_case, ask_by, mr, appeal_by, can_ask,
    suffix}``, plus ``refused``/``awarded`` (award) or ``stop_from``/``review_waiting`` (stop)."""
    civic = portal.civic
    name = portal.words.get(portal.lang(request), f"service.{SERVICE}", civic.services.service(SERVICE).name)
    mrs = civic.cases.list(person=person, queue="mandatory-reconsideration", limit=50)
    items: list[dict[str, Any]] = []
    for j in sorted(civic.store.journeys_for(person), key=lambda j: j.started_at):
        review = j.steps.get("review")
        if j.moment == "job-loss":
            assess = next((j.steps[s].result for s in ("reassess", "assess") if j.steps.get(s)
                           and isinstance(j.steps[s].result, dict) and j.steps[s].result.get("outputs")), {})
            item: dict[str, Any] = {"kind": "award", "refused": bool(assess.get("adverse")),
                                    "awarded": bool(j.steps.get("award") and j.steps["award"].status.value == "done")}
        elif j.moment == STOP_MOMENT and review is not None and review.status.value in ("waiting", "done"):
            day = (j.trigger.get("data") or {}).get("start_date")
            item = {"kind": "stop", "stop_from": _day(portal, request, date.fromisoformat(day[:10])) if day else ""}
        else:
            continue
        reviewed = review.result if review and review.status.value == "done" and isinstance(review.result, dict) \
            else None
        item.update(service=name, review=reviewed, review_waiting=bool(review and review.status.value == "waiting"),
                    suffix="" if not items else f"-{len(items) + 1}")
        if reviewed and reviewed.get("case"):
            case = civic.cases.get(reviewed["case"])
            item["review_case"] = case.id
            item["ask_by"] = _day(portal, request, months_after(case.resolved_at, 1))
        key = item.get("review_case")
        mine = [m for m in mrs if (key and _asked_about(m, key)) or (item["kind"] == "award" and _asked_about(m, None))]
        if mine:
            mr = mine[-1]
            item["mr"] = {"status": mr.status.value, "outcome": mr.outcome, "reason": mr.outcome_reason}
            if mr.outcome == "upheld":
                item["appeal_by"] = _day(portal, request, months_after(mr.resolved_at, 1))
        item["can_ask"] = bool(reviewed and reviewed.get("outcome") == "upheld" and not mine
                               and not _active_reconsideration(civic, person, key))
        items.append(item)
    return items


def _day(portal: Portal, request: Request, day) -> str:
    from babel.dates import format_date

    return format_date(day, format="long", locale=portal.civic.pack.settings.babel_locale(portal.lang(request)))
