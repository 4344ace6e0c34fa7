"""Queues: the queues an officer may work, and each queue's cases ordered by due date, with a
filter (status, assignee) that is a plain GET form, so it works without JavaScript."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.cases import CaseRuleError
from . import Console

PAGE = 50  # cases on one page: the soonest due (filters narrow it)
ACTIVE = ("open", "assigned", "waiting-on-person", "waiting-on-agency")
STATUSES = ("open", "assigned", "waiting-on-person", "waiting-on-agency", "resolved")
STATUS_BADGE = {"open": "moj-badge--blue", "assigned": "moj-badge--purple", "waiting-on-person": "moj-badge--grey",
                "waiting-on-agency": "moj-badge--grey", "resolved": "moj-badge--green"}


def due_badge(due_at: datetime, now: datetime, resolved: bool) -> dict[str, str] | None:
    """How a due date reads at a glance: overdue (red), due within a day (orange), or nothing."""
    if resolved:
        return None
    left = (due_at - now).total_seconds()
    if left < 0:
        return {"text": "Overdue", "classes": "moj-badge--red"}
    if left < 86400:
        return {"text": "Due today", "classes": "moj-badge--orange"}
    return None


def rows(console: Console, cases) -> list[dict]:
    """Each case as a table row, with its status and due-date badges, the soonest due first."""
    now = console.civic.clock.now()
    out = []
    for c in sorted(cases, key=lambda c: (c.due_at, c.id)):
        status = c.status.value
        out.append({"case": c, "status": status, "status_badge": STATUS_BADGE.get(status, ""),
                    "due": c.due_at.date().isoformat(), "due_badge": due_badge(c.due_at, now, status == "resolved")})
    return out


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff", include_in_schema=False)
    cases = console.civic.cases

    @r.get("/queues")
    def queues(request: Request) -> Response:
        officer = console.signed_in(request)
        now = console.civic.clock.now()
        shown = []
        for qid in cases.policy.visible_queues(officer):
            q = cases.queue(qid)
            active = cases.list(queue=qid, status=ACTIVE, officer=officer, limit=PAGE)  # counted up to PAGE
            shown.append({"queue": q, "organisation": console.organisation_name(q),
                          "service_level": f"{q.service_level.days} days",
                          "open": len(active) if len(active) < PAGE else f"{PAGE}+",
                          "overdue": sum(1 for c in active if c.due_at < now)})
        return console.page(request, "queues.html", title="Queues", queues=shown)

    @r.get("/queues/{queue}")
    def queue(request: Request, queue: str, status: str = "", mine: str = "") -> Response:
        officer = console.signed_in(request)
        if queue not in cases.queues:
            return console.page(request, "error.html", status=404, title="There is no such queue",
                                message="Check the address, or choose a queue from the list.")
        try:
            found = cases.list(queue=queue, status=status if status in STATUSES else ACTIVE, officer=officer,
                               assignee=officer.id if mine else None, limit=PAGE)
        except CaseRuleError as exc:
            return console.refused(request, exc)
        return console.page(request, "queue.html", title=cases.queue(queue).title, queue=cases.queue(queue),
                            rows=rows(console, found), statuses=STATUSES, chosen=status, mine=mine)

    @r.get("/caseload")
    def caseload(request: Request) -> Response:
        officer = console.signed_in(request)
        found = cases.list(assignee=officer.id, status=ACTIVE, officer=officer, limit=PAGE)
        return console.page(request, "caseload.html", title="My caseload", rows=rows(console, found))

    return r
