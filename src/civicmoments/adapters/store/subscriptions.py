"""Storage for subscriptions and their deliveries (SQLite and PostgreSQL).

A delivery row is unique on (subscription, inbox seq): fanning out the same event twice, or
two processes fanning out at once, makes one row. Deliveries are leased before they are
sent, so two relays never post the same row at the same time; a lease that runs out (a
killed process) lets another take it, which is why delivery is at least once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, or_, select, update

from ...domain.subscriptions import Subscription
from .bulk import Bulk
from .paths import by_key, unindexed
from .schema import inbox, subscription_deliveries, subscriptions
from .sql import EventStatus, utc

TOLD = (EventStatus.PROCESSED,)  # an event is told of once the platform has taken it in


class SubscriptionStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine
        self.bulk = Bulk(engine.dialect.name)

    # -- subscriptions -------------------------------------------------------------
    def add(self, s: Subscription) -> None:
        with self.engine.begin() as conn:
            cursor = conn.execute(select(func.coalesce(func.max(inbox.c.seq), 0))).scalar_one()
            conn.execute(subscriptions.insert().values(
                id=s.id, org_id=s.org_id, agreement=s.agreement, purpose=s.purpose, types=list(s.types),
                source_prefix=s.source_prefix, subject_prefix=s.subject_prefix, protocol=s.protocol, sink=s.sink,
                cursor=cursor, created_at=s.created_at, deleted_at=None))

    @staticmethod
    def _row(r: Any) -> Subscription:
        return Subscription(r.id, r.org_id, r.agreement, r.purpose, tuple(r.types), r.sink, r.protocol,
                            r.source_prefix, r.subject_prefix, utc(r.created_at), utc(r.deleted_at), r.cursor)

    def get(self, sub_id: str) -> Subscription | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).first()
        return self._row(row) if row else None

    def list(self, org_id: str | None = None, active: bool = True) -> list[Subscription]:
        q = select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
        if org_id is not None:
            q = q.where(subscriptions.c.org_id == org_id)
        if active:
            q = q.where(subscriptions.c.deleted_at.is_(None))
        with self.reader.connect() as conn:
            return [self._row(r) for r in conn.execute(q)]

    def delete(self, sub_id: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id,
                                                            subscriptions.c.deleted_at.is_(None))
                                .values(deleted_at=now)).rowcount
            conn.execute(update(subscription_deliveries)
                         .where(subscription_deliveries.c.subscription_id == sub_id,
                                subscription_deliveries.c.status == "pending")
                         .values(status="cancelled", last_error="the subscription was deleted"))
        return bool(done)

    # -- fan-out -------------------------------------------------------------------
    def events_after(self, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Inbox rows after ``cursor`` that are taken in, oldest first, and the new cursor.

        The cursor stops before the first row still pending, so an event is never passed
        over because it was not yet processed when the relay looked.
        """
        with self.reader.connect() as conn:
            rows = conn.execute(select(inbox.c.seq, inbox.c.source, inbox.c.event_id, inbox.c.type,
                                       inbox.c.subject, inbox.c.time, inbox.c.status)
                                .where(inbox.c.seq > cursor).order_by(inbox.c.seq).limit(limit)).all()
        out, new_cursor = [], cursor
        for r in rows:
            if r.status == EventStatus.PENDING:
                break
            new_cursor = r.seq
            if r.status in TOLD:
                out.append(dict(r._mapping))
        return out, new_cursor

    def fan_out(self, sub_id: str, seqs: Sequence[int], cursor: int, now: datetime) -> int:
        """Record a pending delivery for each event seq and move the cursor, in one transaction."""
        with self.engine.begin() as conn:
            if seqs:
                self.bulk.insert(conn, subscription_deliveries, [
                    {"subscription_id": sub_id, "event_seq": s, "status": "pending", "attempts": 0, "due_at": now}
                    for s in seqs], ignore_conflicts=True)
            conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id,
                                                     subscriptions.c.cursor < cursor).values(cursor=cursor))
        return len(seqs)

    def queue(self, sub_id: str, seqs: Sequence[int], now: datetime) -> int:
        """Queue (again) a delivery of each seq: new rows pending, finished rows back to pending."""
        if not seqs:
            return 0
        with self.engine.begin() as conn:
            self.bulk.insert(conn, subscription_deliveries, [
                {"subscription_id": sub_id, "event_seq": s, "status": "pending", "attempts": 0, "due_at": now}
                for s in seqs], ignore_conflicts=True)
            conn.execute(update(subscription_deliveries).where(
                subscription_deliveries.c.subscription_id == sub_id,
                subscription_deliveries.c.event_seq.in_(list(seqs)),
                subscription_deliveries.c.status != "pending").values(
                status="pending", attempts=0, due_at=now, leased_until=None, last_error=None))
        return len(seqs)

    def events_since(self, since: datetime, limit: int = 100_000) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(inbox.c.seq, inbox.c.source, inbox.c.event_id, inbox.c.type,
                                       inbox.c.subject, inbox.c.time)
                                .where(inbox.c.time >= since, inbox.c.status.in_(TOLD))
                                .order_by(inbox.c.seq).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    # -- delivery ------------------------------------------------------------------
    def lease(self, now: datetime, limit: int, lease_seconds: float = 60.0) -> list[dict[str, Any]]:
        """Take due deliveries for ``lease_seconds``, with their events; oldest first per subscription."""
        d, i = subscription_deliveries, inbox
        free = or_(d.c.leased_until.is_(None), d.c.leased_until < now)
        due = and_(d.c.status == "pending", d.c.due_at <= now, free)
        until = now + timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            ids = [r.id for r in conn.execute(select(d.c.id).where(due).order_by(d.c.id).limit(limit))]
            if not ids:
                return []
            with by_key(conn):  # the rows just chosen, by id, still due; then their events (paths.py)
                conn.execute(update(d).where(d.c.id.in_(ids), unindexed(d.c.status) == "pending", d.c.due_at <= now,
                                             free).values(leased_until=until))
                rows = conn.execute(select(d.c.id, d.c.subscription_id, d.c.event_seq, d.c.attempts, i.c.source,
                                           i.c.event_id, i.c.type, i.c.subject, i.c.time, i.c.data)
                                    .join(i, i.c.seq == d.c.event_seq)
                                    .where(d.c.id.in_(ids), d.c.leased_until == until).order_by(d.c.id)).all()
        return [{**dict(r._mapping), "time": utc(r.time)} for r in rows]

    def settle(self, outcomes: Sequence[dict[str, Any]]) -> None:
        """Write each delivery's outcome: ``{id, status, attempts, due_at?, last_error?, delivered_at?}``."""
        if not outcomes:
            return
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for o in outcomes:  # one executemany per shape of outcome
            groups.setdefault(tuple(sorted(k for k in o if k != "id")), []).append(o)
        d = subscription_deliveries
        with self.engine.begin() as conn:
            for keys, rows in groups.items():
                stmt = update(d).where(d.c.id == bindparam("b_id")).values(
                    leased_until=None, **{k: bindparam(f"b_{k}") for k in keys})
                conn.execute(stmt, [{f"b_{k}": v for k, v in o.items()} for o in rows])

    def deliveries(self, sub_id: str, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        d, i = subscription_deliveries, inbox
        q = (select(d.c.id, d.c.status, d.c.attempts, d.c.last_error, d.c.delivered_at, d.c.due_at,
                    i.c.event_id, i.c.type, i.c.time)
             .join(i, i.c.seq == d.c.event_seq).where(d.c.subscription_id == sub_id).order_by(d.c.id).limit(limit))
        if status is not None:
            q = q.where(d.c.status == status)
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def counts(self, sub_id: str) -> dict[str, int]:
        d = subscription_deliveries
        with self.reader.connect() as conn:
            rows = conn.execute(select(d.c.status, func.count()).where(d.c.subscription_id == sub_id)
                                .group_by(d.c.status)).all()
        return {s: n for s, n in rows}
