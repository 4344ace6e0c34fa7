"""Cases, their timelines and officers, in SQL (SQLite and PostgreSQL).

A change to a case is one transaction: the row, updated only if its version is the one
the officer saw, its new timeline lines, and any event it publishes into the inbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, literal, select, tuple_, union_all, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ...domain.cases import Case, CaseStatus, Entry
from ...domain.staff import Officer
from ...engine.ports import StaleCaseError
from .paths import unindexed
from .schema import Time, case_timeline, cases, officer_tokens, officers

ALL_STATUSES = [s.value for s in CaseStatus]
Emit = Callable[[Connection, list[dict[str, Any]], datetime], None]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _row(case: Case) -> dict[str, Any]:
    return {"id": case.id, "key": case.key, "queue": case.queue, "organisation": case.organisation,
            "person_id": case.person, "journey_id": case.journey, "step_id": case.step, "reason": case.reason,
            "priority": case.priority, "status": case.status.value, "assignee": case.assignee,
            "outcome": case.outcome, "outcome_reason": case.outcome_reason, "resolved_by": case.resolved_by,
            "resolved_at": case.resolved_at, "opened_by": case.opened_by, "opened_at": case.opened_at,
            "due_at": case.due_at, "version": case.version, "data": case.data, "tasks": list(case.tasks)}


def _case(r: Any, timeline: Sequence[Entry] = ()) -> Case:
    return Case(id=r.id, queue=r.queue, organisation=r.organisation, person=r.person_id, reason=r.reason,
                priority=r.priority, status=CaseStatus(r.status), opened_at=_utc(r.opened_at),
                due_at=_utc(r.due_at), version=r.version, journey=r.journey_id, step=r.step_id,
                assignee=r.assignee, outcome=r.outcome, outcome_reason=r.outcome_reason,
                resolved_by=r.resolved_by, resolved_at=_utc(r.resolved_at), opened_by=r.opened_by, key=r.key,
                data=dict(r.data or {}), tasks=tuple(r.tasks or ()), timeline=tuple(timeline))


def _entries(case_id: str, entries: Sequence[Entry]) -> list[dict[str, Any]]:
    return [{"case_id": case_id, "at": e.at, "actor": e.actor, "action": e.action, "detail": e.detail}
            for e in entries]


class CaseStore:
    def __init__(self, engine: Engine, reader: Engine | None = None, emit: Emit | None = None) -> None:
        self.engine, self.reader, self.emit = engine, reader or engine, emit

    # -- cases ---------------------------------------------------------------------
    def add(self, case: Case) -> tuple[Case, bool]:
        """Insert a new case; if one with the same key exists, return that one. (case, created)."""
        if case.key is not None and (found := self.by_key(case.key)) is not None:
            return found, False
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(cases), _row(case))
                conn.execute(insert(case_timeline), _entries(case.id, case.timeline))
        except IntegrityError:
            found = self.by_key(case.key) if case.key else None
            if found is None:
                raise
            return found, False
        return case, True

    def add_many(self, new: Sequence[Case]) -> list[tuple[Case, bool]]:
        """Open many cases in one transaction (a layoff's worth); existing keys are kept as they are."""
        keys = [c.key for c in new if c.key]
        with self.engine.begin() as conn:
            existing = {r.key: r for r in conn.execute(select(cases).where(cases.c.key.in_(keys)))} if keys else {}
            fresh = [c for c in new if c.key not in existing]
            if fresh:
                conn.execute(insert(cases), [_row(c) for c in fresh])
                conn.execute(insert(case_timeline), [row for c in fresh for row in _entries(c.id, c.timeline)])
        return [(_case(existing[c.key]), False) if c.key in existing else (c, True) for c in new]

    def by_key(self, key: str) -> Case | None:
        with self.reader.connect() as conn:
            r = conn.execute(select(cases.c.id).where(cases.c.key == key)).first()
        return self.get(r.id) if r else None

    def get(self, case_id: str) -> Case | None:
        with self.reader.connect() as conn:
            r = conn.execute(select(cases).where(cases.c.id == case_id)).first()
            if r is None:
                return None
            lines = conn.execute(select(case_timeline).where(case_timeline.c.case_id == case_id)
                                 .order_by(case_timeline.c.seq)).all()
        return _case(r, [Entry(_utc(t.at), t.actor, t.action, dict(t.detail or {})) for t in lines])

    def save(self, case: Case, seen: int, entries: Sequence[Entry], events: Sequence[dict[str, Any]] = (),
             now: datetime | None = None) -> None:
        """Write the changed case if it is still at version ``seen``; raises StaleCaseError otherwise."""
        row = _row(case)
        del row["id"], row["key"]
        with self.engine.begin() as conn:
            done = conn.execute(update(cases).where(cases.c.id == case.id, cases.c.version == seen).values(**row))
            if done.rowcount != 1:
                raise StaleCaseError(case.id)
            conn.execute(insert(case_timeline), _entries(case.id, entries))
            if events and self.emit is not None:
                self.emit(conn, list(events), now or entries[-1].at)

    def list(self, *, queues: Sequence[str] | None = None, status: Sequence[str] | None = None,
             assignee: str | None = None, person: str | None = None, after: tuple[datetime, str] | None = None,
             limit: int = 50) -> list[Case]:
        """Cases by due date, then id; ``after`` is the (due_at, id) of the last case of the page before.
        No ``status``: every status, named, so that the (queue, status, due_at, id) index is read
        in order for each pair and the query stops after about ``limit`` rows of each."""
        q = select(cases).where(cases.c.status.in_(list(status) if status else ALL_STATUSES))
        if assignee is not None:
            q = q.where(cases.c.assignee == assignee)
        if person is not None:
            q = q.where(cases.c.person_id == person)
        if after is not None:
            q = q.where(tuple_(cases.c.due_at, cases.c.id) > tuple_(literal(after[0], Time), literal(after[1])))
        if queues is not None and len(queues) > 1 and person is None:
            # the soonest due of each queue from its index, then the soonest of those: PostgreSQL
            # cannot merge the ordered ranges of an IN list itself and would sort every case
            each = [select(q.where(cases.c.queue == name).order_by(cases.c.due_at, cases.c.id).limit(limit)
                           .subquery()) for name in dict.fromkeys(queues)]
            merged = union_all(*each).subquery()
            final = select(merged).order_by(merged.c.due_at, merged.c.id).limit(limit)
        else:
            if queues is not None:
                q = q.where(cases.c.queue.in_(list(queues)))
            final = q.order_by(cases.c.due_at, cases.c.id).limit(limit)
        with self.reader.connect() as conn:
            rows = conn.execute(final).all()
        return [_case(r) for r in rows]

    def latest_resolved(self, person: str, queue: str) -> Case | None:
        with self.reader.connect() as conn:
            # By the person's index: the queue's indexes would walk every case of the queue (paths.py).
            r = conn.execute(select(cases).where(cases.c.person_id == person, unindexed(cases.c.queue) == queue,
                                                 unindexed(cases.c.status) == CaseStatus.RESOLVED.value)
                             .order_by(cases.c.resolved_at.desc()).limit(1)).first()
        return _case(r) if r else None

    # -- officers ------------------------------------------------------------------
    def add_officer(self, officer: Officer, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(officers), {**officer.as_dict(), "created_at": now, "revoked_at": None})

    def officer(self, *, id: str | None = None, name: str | None = None, subject: str | None = None) -> Officer | None:
        q = select(officers).where(officers.c.revoked_at.is_(None))
        if id is not None:
            q = q.where(officers.c.id == id)
        if name is not None:
            q = q.where(officers.c.name == name)
        if subject is not None:
            q = q.where(officers.c.subject == subject)
        with self.reader.connect() as conn:
            r = conn.execute(q).first()
        return Officer(r.id, r.subject, r.name, r.organisation, tuple(r.roles)) if r else None

    def officers(self) -> list[Officer]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(officers).where(officers.c.revoked_at.is_(None)).order_by(officers.c.name))
            return [Officer(r.id, r.subject, r.name, r.organisation, tuple(r.roles)) for r in rows]

    def add_officer_token(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(officer_tokens), row)

    def officer_token(self, key_id: str) -> tuple[dict[str, Any], Officer] | None:
        with self.reader.connect() as conn:
            r = conn.execute(select(officer_tokens, officers.c.subject, officers.c.name, officers.c.organisation,
                                    officers.c.roles, officers.c.revoked_at.label("officer_revoked_at"))
                             .join(officers, officers.c.id == officer_tokens.c.officer_id)
                             .where(officer_tokens.c.id == key_id)).first()
        if r is None:
            return None
        key = {"secret_hash": r.secret_hash, "expires_at": _utc(r.expires_at),
               "revoked_at": r.revoked_at or r.officer_revoked_at}
        return key, Officer(r.officer_id, r.subject, r.name, r.organisation, tuple(r.roles))
