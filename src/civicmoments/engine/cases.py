"""The case service (``app.cases``): opening, reading and acting on cases, as an officer.

Every action goes through the staff policy (``domain/staff.Policy``) when an officer acts,
checks the version the officer saw, and writes the case, its timeline and any event in one
transaction. Resolving publishes ``civic.case.resolved``, which returns the outcome to the
journey step that opened the case.

Errors (``domain/cases``): CaseNotFoundError (404), NotPermittedError (403),
CaseVersionConflictError and CaseAlreadyResolvedError (409), OutcomeNotAllowedError,
NoteTooLongError, InvalidCaseRequestError and UnknownQueueError (422), SameReviewerError (403).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..domain import cases as lifecycle
from ..domain.cases import (
    CASE_RESOLVED,
    Case,
    CaseNotFoundError,
    CaseStatus,
    CaseVersionConflictError,
    InvalidCaseRequestError,
    NotPermittedError,
    Queue,
    UnknownQueueError,
    resolved_event,
)
from ..domain.clock import Clock
from ..domain.ids import uuid7
from ..domain.organisations import Organisation
from ..domain.staff import Officer, Policy
from ..logs import get
from .ports import Effect, EffectResult, StaleCaseError

log = get("civic.cases")
FIRST_REVIEW = {"mandatory-reconsideration": "decision-review", "appeal": "mandatory-reconsideration"}
CORRECTION_QUEUE, ACCEPTED = "correction", "accepted"  # accepting a correction records the right value
PAGE_LIMIT = 200


def encode_cursor(case: Case) -> str:
    return base64.urlsafe_b64encode(f"{case.due_at.isoformat()}|{case.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        due, _, case_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        return datetime.fromisoformat(due), case_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidCaseRequestError("the cursor is not one this list gave out: start again without it") from None


class Cases:
    def __init__(self, store, queues: Mapping[str, Queue], policy: Policy, clock: Clock) -> None:
        self.store, self.queues, self.policy, self.clock = store, dict(queues), policy, clock
        self.gate = None  # the privacy gate, set by bootstrap: a referral to another organisation is logged
        self.registry = None  # the registry, set by bootstrap: an accepted correction is a fact
        self.organisation_id: Callable[[str], str] = lambda slug: slug  # a queue's organisation, registered
        self.on_resolved: list[Callable[[Case, Officer | None], None]] = []

    # -- helpers -------------------------------------------------------------------
    def queue(self, queue_id: str) -> Queue:
        q = self.queues.get(queue_id)
        if q is None:
            raise UnknownQueueError(f"queue {queue_id!r} is not declared; the queues are "
                                    f"{', '.join(sorted(self.queues))}")
        return q

    def permit(self, officer: Officer | None, action: str, queue: str, case_id: str | None = None) -> None:
        """Raise NotPermittedError (and log it, ids only) unless the policy allows it. None: the platform."""
        if officer is None or self.policy.allows(officer, action, queue):
            return
        log.warning("staff action refused", officer=officer.id, action=action, queue=queue, case=case_id)
        raise NotPermittedError(f"officer {officer.name!r} ({', '.join(officer.roles) or 'no roles'}, "
                                f"{officer.organisation}) may not {action} cases in queue {queue!r}",
                                action=action, queue=queue)

    def _load(self, case_id: str) -> Case:
        case = self.store.get(case_id)
        if case is None:
            raise CaseNotFoundError(f"no case {case_id!r}")
        return case

    def _apply(self, case: Case, changed: Case, entry, events: Sequence[dict[str, Any]] = ()) -> Case:
        try:
            self.store.save(changed, case.version, [entry], events, self.clock.now())
        except StaleCaseError:
            current = self._load(case.id)
            raise CaseVersionConflictError(
                f"case {case.id} changed while you acted (now version {current.version}): look again, then act",
                current=current.summary()) from None
        return changed

    @staticmethod
    def _id(officer: Officer | None) -> str | None:
        return officer.id if officer is not None else None

    # -- opening -------------------------------------------------------------------
    def _new(self, queue: str, person: str, reason: str, *, journey: str | None = None, step: str | None = None,
             priority: str = "normal", data: dict[str, Any] | None = None, opened_by: str | None = None,
             key: str | None = None) -> Case:
        q = self.queue(queue)
        data = dict(data or {})
        earlier = FIRST_REVIEW.get(queue)
        if earlier and "first_reviewer" not in data:
            first = self.store.latest_resolved(person, earlier)
            if first is not None:  # whoever decided before may not decide again
                data.update(first_reviewer=first.resolved_by, first_review=first.id)
        return lifecycle.open_case(q, uuid7(), person, reason, self.clock.now(), journey=journey, step=step,
                                   priority=priority, data=data, opened_by=opened_by, key=key)

    def open(self, queue: str, person: str, reason: str, *, journey: str | None = None, step: str | None = None,
             priority: str = "normal", data: dict[str, Any] | None = None, opened_by: str | None = None,
             key: str | None = None) -> Case:
        """Open a case, or return the one already opened under ``key`` (idempotent)."""
        case, _ = self.store.add(self._new(queue, person, reason, journey=journey, step=step, priority=priority,
                                           data=data, opened_by=opened_by, key=key))
        return case

    def open_many(self, requests: Sequence[dict[str, Any]]) -> list[Case]:
        """Open many cases in one transaction; each request holds ``open``'s arguments."""
        made = [self._new(**r) for r in requests]
        return [c for c, _ in self.store.add_many(made)]

    # -- reading -------------------------------------------------------------------
    def get(self, case_id: str, officer: Officer | None = None) -> Case:
        case = self._load(case_id)
        self.permit(officer, "see", case.queue, case.id)
        return case

    def list(self, queue: str | None = None, status: str | Sequence[str] | None = None, assignee: str | None = None,
             person: str | None = None, *, officer: Officer | None = None, cursor: str | None = None,
             limit: int = 50) -> list[Case]:
        return self.page(queue, status, assignee, person, officer=officer, cursor=cursor, limit=limit)[0]

    def page(self, queue: str | None = None, status: str | Sequence[str] | None = None, assignee: str | None = None,
             person: str | None = None, *, officer: Officer | None = None, cursor: str | None = None,
             limit: int = 50) -> tuple[list[Case], str | None]:
        """One page of cases by due date, and the cursor of the next page (None at the end).
        An officer sees only the queues the policy lets them see."""
        if not 1 <= limit <= PAGE_LIMIT:
            raise InvalidCaseRequestError(f"limit is from 1 to {PAGE_LIMIT}")
        statuses = [status] if isinstance(status, str) else list(status or [])
        for s in statuses:
            if s not in {x.value for x in CaseStatus}:
                raise InvalidCaseRequestError(f"status {s!r} is not one of "
                                              f"{', '.join(x.value for x in CaseStatus)}")
        queues: list[str] | None = None
        if queue is not None:
            self.queue(queue)
            self.permit(officer, "see", queue)
            queues = [queue]
        elif officer is not None:
            queues = self.policy.visible_queues(officer)
        after = decode_cursor(cursor) if cursor else None
        found = self.store.list(queues=queues, status=statuses, assignee=assignee, person=person, after=after,
                                limit=limit + 1)
        more = len(found) > limit
        found = found[:limit]
        return found, (encode_cursor(found[-1]) if more else None)

    # -- acting --------------------------------------------------------------------
    def assign(self, case_id: str, officer: Officer | str, version: int, *, by: Officer | None = None) -> Case:
        """Give the case to ``officer`` (an Officer or officer id). ``by`` acts (default: the assignee,
        taking it); assigning someone else needs the ``assign`` permission."""
        case = self._load(case_id)
        assignee = officer if isinstance(officer, Officer) else self.store.officer(id=officer)
        if assignee is None:
            raise InvalidCaseRequestError(f"no officer {officer!r}")
        actor = by if by is not None else assignee
        self.permit(actor, "act" if actor.id == assignee.id else "assign", case.queue, case.id)
        if not self.policy.allows(assignee, "act", case.queue):
            raise NotPermittedError(f"officer {assignee.name!r} may not act on queue {case.queue!r}, "
                                    "so cannot be given this case", queue=case.queue)
        changed, entry = lifecycle.assign(case, assignee.id, actor.id, version, self.clock.now())
        return self._apply(case, changed, entry)

    def note(self, case_id: str, officer: Officer | None, text: str, version: int) -> Case:
        case = self._load(case_id)
        self.permit(officer, "act", case.queue, case.id)
        changed, entry = lifecycle.note(case, self._id(officer), text, version, self.clock.now())
        return self._apply(case, changed, entry)

    def task(self, case_id: str, officer: Officer | None, text: str, version: int) -> Case:
        case = self._load(case_id)
        self.permit(officer, "act", case.queue, case.id)
        changed, entry = lifecycle.add_task(case, self._id(officer), text, version, self.clock.now())
        return self._apply(case, changed, entry)

    def wait_on(self, case_id: str, officer: Officer | None, on: str, version: int) -> Case:
        case = self._load(case_id)
        self.permit(officer, "act", case.queue, case.id)
        changed, entry = lifecycle.wait_on(case, self._id(officer), on, version, self.clock.now())
        return self._apply(case, changed, entry)

    def log(self, case_id: str, actor: Officer | None, action: str, detail: dict[str, Any]) -> Case:
        """Put something that happened on the case's timeline (a document attached, a referral
        answered) whatever version the case is at: it changes nothing an officer decides on, so it
        retries a concurrent change rather than refusing it."""
        for _ in range(5):
            case = self._load(case_id)
            changed, entry = lifecycle.record(case, self._id(actor), action, detail, self.clock.now())
            try:
                self.store.save(changed, case.version, [entry], (), self.clock.now())
                return changed
            except StaleCaseError:
                continue
        raise CaseVersionConflictError(f"case {case_id} kept changing; try again")

    def resolve(self, case_id: str, officer: Officer | None, outcome: str, reason: str, version: int, *,
                value: Any = None, basis: str | None = None) -> Case:
        """Resolve with an outcome the queue allows; publishes ``civic.case.resolved`` in the same
        transaction, so the journey that opened the case hears the outcome exactly once.

        Accepting a correction (queue ``correction``, outcome ``accepted``) needs ``value``, the
        right value of the attribute the person named, and ``basis``, what the officer checked (up
        to 500 characters): the value is first recorded as a verified (silver) fact whose source is
        the officer's organisation, the case gets a note saying so, and the outcome's reason names
        what was checked. Raises InvalidCaseRequestError (422) without them, WrongValueTypeError
        (422) for a value that does not fit the attribute, and the errors of any resolution, each
        before anything is written."""
        case = self._load(case_id)
        self.permit(officer, "resolve", case.queue, case.id)
        queue = self.queue(case.queue)
        if case.queue == CORRECTION_QUEUE and outcome == ACCEPTED:
            return self._accept_correction(case, queue, officer, reason, version, value, basis)
        changed, entry = lifecycle.resolve(case, queue, self._id(officer), outcome, reason, version, self.clock.now())
        return self._resolved(case, changed, entry, officer)

    def _resolved(self, case: Case, changed: Case, entry, officer: Officer | None) -> Case:
        event = {"event_id": f"{CASE_RESOLVED}:{case.id}", "type": CASE_RESOLVED, "subject": case.person,
                 "time": self.clock.now(), "data": resolved_event(changed)}
        done = self._apply(case, changed, entry, [event])
        for listener in self.on_resolved:  # e.g. an assisted-contact case delivers its message
            listener(done, officer)
        return done

    def _accept_correction(self, case: Case, queue: Queue, officer: Officer | None, reason: str, version: int,
                           value: Any, basis: str | None) -> Case:
        attribute = (case.data.get("request") or {}).get("attribute", "")
        basis = (basis or "").strip()[:500]
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or not basis:
            raise InvalidCaseRequestError("accepting a correction needs the right value ('value') and what you "
                                          "checked ('basis')")
        if not attribute:
            raise InvalidCaseRequestError("this correction case does not name the attribute to correct")
        now = self.clock.now()
        lifecycle.resolve(case, queue, self._id(officer), ACCEPTED, reason, version, now)  # refused here, or fine
        organisation = officer.organisation if officer is not None else case.organisation
        self.registry.record(Organisation(organisation, organisation, (), ("facts:*",)), case.person, [
            {"attribute": attribute, "value": self._typed(attribute, value), "basis": "verified", "tier": "silver"}])
        noted = self.note(case.id, officer, f"Recorded {attribute.replace('_', ' ')} as a verified fact. "
                          f"Checked: {basis}", version)
        changed, entry = lifecycle.resolve(noted, queue, self._id(officer), ACCEPTED,
                                           f"{reason.strip()} (checked: {basis})", noted.version, self.clock.now())
        return self._resolved(noted, changed, entry, officer)

    def _typed(self, attribute: str, value: Any) -> Any:
        """Text (a form's, a command line's) as the attribute's type: whole numbers for integer
        attributes, numbers, yes/no for booleans; anything else, and JSON values, as given."""
        if not isinstance(value, str):
            return value
        kind = getattr(self.registry.spec(attribute), "type", "string")
        if kind in ("integer", "int") and value.lstrip("-").isdigit():
            return int(value)
        if kind == "number":
            try:
                return float(value)
            except ValueError:
                return value
        if kind in ("boolean", "bool"):
            return value.lower() in ("yes", "true")
        return value

    def refer(self, case_id: str, officer: Officer | None, to_queue: str, note: str, version: int) -> Case:
        """Refer the case to another queue, perhaps another organisation's (a council, a transit authority)."""
        case = self._load(case_id)
        self.permit(officer, "act", case.queue, case.id)
        to = self.queue(to_queue)
        changed, entry = lifecycle.refer(case, to, self._id(officer), note, version, self.clock.now())
        changed = self._apply(case, changed, entry)
        if self.gate is not None and to.organisation != case.organisation:  # in the person's access log
            self.gate.referral(officer, case.person, case.id, case.organisation, self.organisation_id(to.organisation),
                               to.purpose)
        return changed


def _request(event: Mapping[str, Any] | None, keep: bool = False) -> dict[str, Any]:
    """What the person asked, when a person's own request opened the case (a correction names the
    attribute and what is wrong with it), or when the step says ``request: true`` (a disputed fare
    the transit authority reports names the journey and why), kept on the case for the officer:
    ``{"request": data}``."""
    if not event or not (keep or str(event.get("type", "")).startswith("civic.person.")):
        return {}
    return {"request": dict(event.get("data") or {})}


class OpenCaseProvider:
    """The ``open-case`` effect: a real case per idempotency key; the result is ``{"case": ID}``."""

    def __init__(self, cases: Cases) -> None:
        self.cases = cases

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        requests, results = [], []
        for e in effects:
            spec = e.payload.get("spec", {})
            if spec.get("queue") not in self.cases.queues:
                results.append(EffectResult.fail(f"queue {spec.get('queue')!r} is not declared"))
                continue
            requests.append((e, {"queue": spec["queue"], "person": e.person, "reason": spec.get("reason", ""),
                                 "journey": e.journey, "step": e.step, "priority": spec.get("priority", "normal"),
                                 "key": e.key, "data": {"moment": e.payload.get("moment"),
                                                      **_request(e.payload.get("event"),
                                                                 spec.get("request") is True)}}))
            results.append(None)
        opened = iter(self.cases.open_many([r for _, r in requests])) if requests else iter(())
        return [r if r is not None else EffectResult.done({"case": next(opened).id}) for r in results]
