"""Queues: the queues an officer may work, and each queue's cases ordered by due date, with a
filter (status, assignee) that is a plain GET form, so it works without JavaScript."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from . import Console

STATUSES = ("open", "assigned", "waiting-on-person", "waiting-on-agency", "resolved")
STATUS_BADGE = {"open": "moj-badge--blue", "assigned": "moj-badge--purple", "waiting-on-person": "moj-badge--grey",
                "waiting-on-agency": "moj-badge--grey", "resolved": "moj-badge--green"}


def due_badge(due: datetime | str | None, now: datetime, resolved: bool) -> dict[str, str] | None:
    """How a due date reads at a glance: overdue (red), due within a day (orange), or nothing."""
    if due is None or resolved:
        return None
    due_at = datetime.fromisoformat(due) if isinstance(due, str) else due
    left = (due_at - now).total_seconds()
    if left < 0:
        return {"text": "Overdue", "classes": "moj-badge--red"}
    if left < 86400:
        return {"text": "Due today", "classes": "moj-badge--orange"}
    return None


def rows(console: Console, cases) -> list[dict]:
    """Each case as a table row: person's name (through the officer's view), status and due badges."""
    now = console.civic.clock.now()
    out = []
    for c in sorted(cases, key=lambda c: (str(c.due_at or "9999"), c.id)):
        out.append({"case": c, "status_badge": STATUS_BADGE.get(c.status, ""),
                    "due": str(c.due_at)[:10] if c.due_at else "",
                    "due_badge": due_badge(c.due_at, now, c.status == "resolved")})
    return out


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff", include_in_schema=False)
    civic = console.civic

    @r.get("/queues")
    def queues(request: Request) -> Response:
        officer = console.signed_in(request)
        shown = []
        for q in civic.cases.queues_for(officer):
            open_cases = [c for c in civic.cases.list(queue=q.id) if c.status != "resolved"]
            shown.append({"queue": q, "open": len(open_cases),
                          "overdue": sum(1 for c in open_cases if due_badge(c.due_at, civic.clock.now(), False)
                                         and due_badge(c.due_at, civic.clock.now(), False)["text"] == "Overdue")})
        return console.page(request, "queues.html", title="Queues", queues=shown)

    @r.get("/queues/{queue}")
    def queue(request: Request, queue: str, status: str = "", mine: str = "") -> Response:
        officer = console.signed_in(request)
        allowed = {q.id: q for q in civic.cases.queues_for(officer)}
        if queue not in allowed:
            return console.page(request, "error.html", status=403 if queue in civic.cases.queues else 404,
                                title="You cannot see this queue" if queue in civic.cases.queues else "No such queue",
                                message="Your roles do not include this queue." if queue in civic.cases.queues
                                else "Check the address, or choose a queue from the list.")
        found = civic.cases.list(queue=queue, status=status if status in STATUSES else None,
                                 assignee=officer.id if mine else None)
        if not status:
            found = [c for c in found if c.status != "resolved"]
        return console.page(request, "queue.html", title=allowed[queue].title, queue=allowed[queue],
                            rows=rows(console, found), statuses=STATUSES, status=status, mine=mine)

    @r.get("/caseload")
    def caseload(request: Request) -> Response:
        officer = console.signed_in(request)
        found = [c for c in civic.cases.list(assignee=officer.id) if c.status != "resolved"]
        return console.page(request, "caseload.html", title="My caseload", rows=rows(console, found))

    return r
