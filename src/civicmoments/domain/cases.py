"""Cases: human work on a person's journey, with a pure lifecycle.

A case sits in a queue (declared in the pack), has a person, the journey and step that
opened it, a reason, a priority, a due date worked out from the queue's service level,
an assignee, a status, notes, tasks and a timeline. Every action is a pure function
``(case, ...) -> (case', [entries])`` that checks the version the officer saw
(optimistic concurrency) and the rules of the queue; the store writes both at once.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .clock import iso

NOTE_LIMIT = 4000  # characters in one note or reason
CASE_RESOLVED = "civic.case.resolved"


class CaseStatus(str, enum.Enum):
    OPEN = "open"
    ASSIGNED = "assigned"
    WAITING_ON_PERSON = "waiting-on-person"
    WAITING_ON_AGENCY = "waiting-on-agency"
    RESOLVED = "resolved"


CASE_ACTIVE = frozenset(CaseStatus) - {CaseStatus.RESOLVED}
PRIORITIES = ("low", "normal", "high", "urgent")
WAITING_ON = {"person": CaseStatus.WAITING_ON_PERSON, "agency": CaseStatus.WAITING_ON_AGENCY}


@dataclass(frozen=True)
class Queue:
    """A queue declared in the pack (``cases/queues.yaml``)."""

    id: str
    title: str
    organisation: str  # the owning organisation's name
    service_level: timedelta  # from opening to the due date
    roles: tuple[str, ...]  # the roles that may act on its cases
    outcomes: tuple[str, ...]  # the outcomes a resolution may have
    purpose: str = "employment-support"  # why an officer on this queue reads the person's data


@dataclass(frozen=True)
class Entry:
    """One line of a case's timeline: who did what, when. Nothing is ever removed."""

    at: datetime
    actor: str | None  # an officer id, or None for the platform
    action: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at), "actor": self.actor, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class Case:
    id: str
    queue: str
    organisation: str
    person: str
    reason: str
    priority: str
    status: CaseStatus
    opened_at: datetime
    due_at: datetime
    version: int = 1
    journey: str | None = None
    step: str | None = None
    assignee: str | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    opened_by: str | None = None
    key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    tasks: tuple[dict[str, Any], ...] = ()
    timeline: tuple[Entry, ...] = ()

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [{"at": iso(e.at), "officer": e.actor, "text": e.detail["text"]}
                for e in self.timeline if e.action == "note"]

    def summary(self) -> dict[str, Any]:
        """The case as JSON, without its timeline."""
        return {"id": self.id, "queue": self.queue, "organisation": self.organisation, "person": self.person,
                "reason": self.reason, "priority": self.priority, "status": self.status.value,
                "opened_at": iso(self.opened_at), "due_at": iso(self.due_at), "version": self.version,
                "journey": self.journey, "step": self.step, "assignee": self.assignee,
                "outcome": self.outcome, "outcome_reason": self.outcome_reason, "resolved_by": self.resolved_by,
                "resolved_at": iso(self.resolved_at) if self.resolved_at else None, "opened_by": self.opened_by,
                "data": self.data}

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "notes": self.notes, "tasks": list(self.tasks),
                "timeline": [e.as_dict() for e in self.timeline]}


# -- errors: named for the rule broken; the API turns each into an RFC 9457 problem ---------------
class CaseRuleError(Exception):
    slug, status, title = "case-error", 400, "The case cannot do this"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail, self.extra = detail, extra

    def as_dict(self) -> dict[str, Any]:
        return {"type": f"https://civicmoments.org/problems/{self.slug}", "title": self.title,
                "status": self.status, "detail": self.detail, **self.extra}


def _error(name: str, slug: str, status: int, title: str) -> type[CaseRuleError]:
    return type(name, (CaseRuleError,), {"slug": slug, "status": status, "title": title})


CaseNotFoundError = _error("CaseNotFoundError", "case-not-found", 404, "No such case")
CaseVersionConflictError = _error("CaseVersionConflictError", "case-version-conflict", 409,
                                  "Someone changed the case since you looked at it")
CaseAlreadyResolvedError = _error("CaseAlreadyResolvedError", "case-already-resolved", 409,
                                  "The case is already resolved")
OutcomeNotAllowedError = _error("OutcomeNotAllowedError", "outcome-not-allowed", 422,
                                "The queue does not allow this outcome")
NotPermittedError = _error("NotPermittedError", "not-permitted", 403,
                           "Your roles do not let you do this on this queue")
SameReviewerError = _error("SameReviewerError", "reviewer-must-differ", 403,
                           "A reconsideration is decided by a different officer from the first review")
NoteTooLongError = _error("NoteTooLongError", "note-too-long", 422, "The note is longer than the limit")
InvalidCaseRequestError = _error("InvalidCaseRequestError", "invalid-case-request", 422,
                                 "The case request is not valid")
UnknownQueueError = _error("UnknownQueueError", "unknown-queue", 422, "The queue is not declared")


# -- the lifecycle -------------------------------------------------------------------------------
def _text(value: str, what: str, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidCaseRequestError(f"{what} is empty: write a few words")
    if len(value) > NOTE_LIMIT:
        raise NoteTooLongError(f"{what} has {len(value)} characters; the limit is {NOTE_LIMIT}: shorten it",
                               limit=NOTE_LIMIT, length=len(value))
    return value


def open_case(queue: Queue, case_id: str, person: str, reason: str, now: datetime, *,
              journey: str | None = None, step: str | None = None, priority: str = "normal",
              data: dict[str, Any] | None = None, opened_by: str | None = None, key: str | None = None) -> Case:
    """A new case, due ``queue.service_level`` after ``now``. Raises InvalidCaseRequestError."""
    if priority not in PRIORITIES:
        raise InvalidCaseRequestError(f"priority {priority!r} is not one of {', '.join(PRIORITIES)}")
    if not person:
        raise InvalidCaseRequestError("a case needs a person")
    reason = _text(reason, "the reason", required=False) or queue.title
    entry = Entry(now, opened_by, "opened", {"queue": queue.id, "priority": priority,
                                             **({"journey": journey, "step": step} if journey else {})})
    return Case(id=case_id, queue=queue.id, organisation=queue.organisation, person=person, reason=reason,
                priority=priority, status=CaseStatus.OPEN, opened_at=now, due_at=now + queue.service_level,
                journey=journey, step=step, opened_by=opened_by, key=key, data=dict(data or {}),
                timeline=(entry,))


def _check(case: Case, version: int, *, resolving: bool = False) -> None:
    if case.status is CaseStatus.RESOLVED:
        raise CaseAlreadyResolvedError(
            f"case {case.id} was resolved ({case.outcome}) by {case.resolved_by or 'the platform'} "
            f"at {iso(case.resolved_at) if case.resolved_at else 'an unknown time'}; nothing more can be done on it",
            resolved_by=case.resolved_by, resolved_at=iso(case.resolved_at) if case.resolved_at else None,
            outcome=case.outcome, case=case.summary())
    if version != case.version:
        raise CaseVersionConflictError(
            f"case {case.id} is at version {case.version}, you acted on version {version}: "
            "look at it again, then act", current=case.summary())


def _step(case: Case, now: datetime, actor: str | None, action: str, detail: dict[str, Any],
          **changes: Any) -> tuple[Case, Entry]:
    entry = Entry(now, actor, action, detail)
    return dataclasses.replace(case, version=case.version + 1, timeline=case.timeline + (entry,), **changes), entry


def assign(case: Case, assignee: str, by: str | None, version: int, now: datetime) -> tuple[Case, Entry]:
    _check(case, version)
    status = case.status if case.status in (CaseStatus.WAITING_ON_PERSON, CaseStatus.WAITING_ON_AGENCY) \
        else CaseStatus.ASSIGNED
    return _step(case, now, by, "assigned", {"assignee": assignee, "previous": case.assignee},
                 assignee=assignee, status=status)


def note(case: Case, officer: str | None, text: str, version: int, now: datetime) -> tuple[Case, Entry]:
    """A note; allowed on a resolved case too (nothing is lost), but never with a stale version."""
    text = _text(text, "the note")
    if version != case.version:
        _check(dataclasses.replace(case, status=CaseStatus.OPEN), version)
    return _step(case, now, officer, "note", {"text": text})


def wait_on(case: Case, officer: str | None, on: str, version: int, now: datetime) -> tuple[Case, Entry]:
    if on not in WAITING_ON:
        raise InvalidCaseRequestError(f"a case waits on 'person' or 'agency', not {on!r}")
    _check(case, version)
    return _step(case, now, officer, "waiting", {"on": on}, status=WAITING_ON[on])


def resolve(case: Case, queue: Queue, officer: str | None, outcome: str, reason: str, version: int,
            now: datetime) -> tuple[Case, Entry]:
    """Resolve with one of the queue's outcomes. Raises CaseAlreadyResolvedError,
    CaseVersionConflictError, OutcomeNotAllowedError, NoteTooLongError, SameReviewerError."""
    _check(case, version)
    if outcome not in queue.outcomes:
        raise OutcomeNotAllowedError(f"queue {queue.id!r} allows {', '.join(queue.outcomes)}, not {outcome!r}",
                                     allowed=list(queue.outcomes))
    reason = _text(reason, "the reason")
    first = case.data.get("first_reviewer")
    if first is not None and officer == first:
        raise SameReviewerError(f"officer {officer} made the first review of this decision; "
                                "another decision maker must decide the reconsideration", first_reviewer=first)
    return _step(case, now, officer, "resolved", {"outcome": outcome, "reason": reason},
                 status=CaseStatus.RESOLVED, outcome=outcome, outcome_reason=reason, resolved_by=officer,
                 resolved_at=now)


def refer(case: Case, to: Queue, officer: str | None, text: str, version: int, now: datetime) -> tuple[Case, Entry]:
    """Move the case to another queue (perhaps another organisation's); its due date restarts."""
    _check(case, version)
    text = _text(text, "the referral note", required=False)
    if to.id == case.queue:
        raise InvalidCaseRequestError(f"the case is already in queue {to.id!r}")
    return _step(case, now, officer, "referred", {"from": case.queue, "to": to.id, "organisation": to.organisation,
                                                  "note": text},
                 queue=to.id, organisation=to.organisation, status=CaseStatus.OPEN, assignee=None,
                 due_at=now + to.service_level)


def record(case: Case, actor: str | None, action: str, detail: dict[str, Any], now: datetime) -> tuple[Case, Entry]:
    """A line on the timeline that changes nothing else (allowed on a resolved case too)."""
    return _step(case, now, actor, action, dict(detail))


def add_task(case: Case, officer: str | None, text: str, version: int, now: datetime) -> tuple[Case, Entry]:
    _check(case, version)
    text = _text(text, "the task")
    task = {"id": len(case.tasks) + 1, "text": text, "done": False, "added_by": officer, "added_at": iso(now)}
    return _step(case, now, officer, "task-added", {"task": task["id"], "text": text}, tasks=case.tasks + (task,))


def resolved_event(case: Case) -> dict[str, Any]:
    """The data of ``civic.case.resolved``, which returns the outcome to the journey."""
    return {"case": case.id, "queue": case.queue, "outcome": case.outcome, "reason": case.outcome_reason,
            "officer": case.resolved_by, "journey": case.journey, "step": case.step}
