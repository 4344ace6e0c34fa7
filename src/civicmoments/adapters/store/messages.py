"""Messages, their channel history and people's preferences, in SQL.

Workers claim due messages with a short lease (``next_at`` moved forward), so two workers
never send the same message at once; on PostgreSQL with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from ...domain import messages as M
from .bulk import Bulk
from .schema import message_history, message_preferences, messages

CHUNK = 500
# The portal's inbox reads these on every visit: built once (building one costs more than running it).
_OF_PERSON = (select(messages).where(messages.c.person_id == bindparam("person"))
              .order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(bindparam("limit", type_=Integer)))
_HISTORY_OF = (select(message_history).where(message_history.c.message_id.in_(bindparam("ids", expanding=True)))
               .order_by(message_history.c.seq))
_PENDING = [s.value for s in M.PENDING]
# What a claimed message is sent with (``to_message`` and ``Claimed``): not its timestamps and version.
_CLAIMED = [messages.c[name] for name in ("id", "key", "person_id", "chain", "position", "status", "attempts",
                                          "next_at", "journey_id", "purpose", "provider", "reference", "template",
                                          "locale", "content", "needs", "created_at")]


@dataclass(frozen=True)
class Claimed:
    """A message a worker holds for sending, with what it needs to send it."""

    message: M.Message
    template: str
    locale: str
    content: str  # still encrypted
    needs: dict[str, Any]
    created_at: datetime | None = None  # when the text was written (UTC): the date a letter bears


def to_message(r: Any) -> M.Message:
    if isinstance(r, dict):
        r = SimpleNamespace(**r)
    return M.Message(id=r.id, key=r.key, person=r.person_id, chain=tuple(M.Channel(c) for c in r.chain),
                     position=r.position, status=M.Status(r.status), attempts=r.attempts, next_at=r.next_at,
                     journey=r.journey_id, purpose=r.purpose, provider=r.provider, reference=r.reference)


def history_rows(message_id: str, steps: Iterable[M.Step]) -> list[dict[str, Any]]:
    return [{"message_id": message_id, "at": s.at, "channel": s.channel.value, "status": s.status.value,
             "provider": s.provider, "detail": s.detail} for s in steps]


def cancel_pending(conn: Connection, where, now: datetime, why: str) -> list[M.Message]:
    """Cancel every pending message matching ``where``; returns the messages as they were."""
    rows = conn.execute(select(messages).where(where, messages.c.status.in_(_PENDING))).all()
    if not rows:
        return []
    found = [to_message(r) for r in rows]
    ids = [m.id for m in found]
    for i in range(0, len(ids), CHUNK):
        conn.execute(update(messages).where(messages.c.id.in_(ids[i:i + CHUNK]))
                     .values(status=M.Status.CANCELLED.value, next_at=None, updated_at=now))
    history = [h for m in found for h in history_rows(m.id, M.cancel(m, now, why).history)]
    conn.execute(message_history.insert(), history)
    return found


class MessageStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine
        self.pg = engine.dialect.name == "postgresql"
        self.bulk = Bulk(engine.dialect.name)

    # -- creating --------------------------------------------------------------------
    def create(self, rows: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]) -> dict[str, str]:
        """Insert new messages, skipping any whose key exists; returns key -> message id for all."""
        if not rows:
            return {}
        keys = [r["key"] for r in rows]
        with self.engine.begin() as conn:
            have = self._ids_by_key(conn, keys)
            fresh = [r for r in rows if r["key"] not in have]
            if fresh:
                self.bulk.insert(conn, messages, fresh, ignore_conflicts=True)
                ids = {r["id"] for r in fresh}
                self.bulk.insert(conn, message_history, [h for h in history if h["message_id"] in ids])
                have = self._ids_by_key(conn, keys)  # a racing worker may have won a key
        return have

    @staticmethod
    def _ids_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
        out = {}
        for i in range(0, len(keys), CHUNK):
            out.update(conn.execute(select(messages.c.key, messages.c.id)
                                    .where(messages.c.key.in_(keys[i:i + CHUNK]))).all())
        return out

    # -- sending ---------------------------------------------------------------------
    @staticmethod
    def _due(now: datetime):
        return and_(messages.c.next_at <= now, messages.c.status.in_(_PENDING))

    def any_due(self, now: datetime) -> bool:
        """A look without the write lock, so an idle loop does not hold up writers."""
        with self.reader.connect() as conn:
            return conn.execute(select(messages.c.id).where(self._due(now)).limit(1)).first() is not None

    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
        if not self.any_due(now):
            return []
        due = self._due(now)
        with self.engine.begin() as conn:
            q = select(*_CLAIMED).where(due).order_by(messages.c.next_at).limit(limit)
            if self.pg:
                q = q.with_for_update(skip_locked=True)
            rows = conn.execute(q).all()
            ids = [r.id for r in rows]
            for i in range(0, len(ids), CHUNK):
                conn.execute(update(messages).where(messages.c.id.in_(ids[i:i + CHUNK]))
                             .values(next_at=now + lease))
        from .sql import utc  # sql imports this module

        return [Claimed(to_message(r), r.template, r.locale, r.content, r.needs, utc(r.created_at)) for r in rows]

    def save(self, transitions: Sequence[M.Transition], now: datetime, write_events=None) -> None:
        """Write each message's new state and history; ``write_events(conn)`` joins the transaction."""
        params = [{"m_id": t.message.id, "position": t.message.position, "status": t.message.status.value,
                   "attempts": t.message.attempts, "next_at": t.message.next_at, "provider": t.message.provider,
                   "reference": t.message.reference, "updated_at": now} for t in transitions]
        history = [h for t in transitions for h in history_rows(t.message.id, t.history)]
        with self.engine.begin() as conn:
            if params:
                # A message cancelled while it was being sent stays cancelled.
                conn.execute(update(messages).where(messages.c.id == bindparam("m_id"),
                                                    messages.c.status != M.Status.CANCELLED.value)
                             .values({k: bindparam(k) for k in params[0] if k != "m_id"}), params)
            if history:
                self.bulk.insert(conn, message_history, history)
            if write_events is not None:
                write_events(conn)

    # -- reading ---------------------------------------------------------------------
    def get(self, message_id: str) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            r = conn.execute(select(messages).where(messages.c.id == message_id)).first()
        return r._asdict() if r else None

    def by_reference(self, reference: str) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            r = conn.execute(select(messages).where(
                (messages.c.reference == reference) | (messages.c.id == reference)).limit(1)).first()
        return r._asdict() if r else None

    def of_person(self, person: str, limit: int = 200) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            rows = conn.execute(_OF_PERSON, {"person": person, "limit": limit}).all()
            ids = [r.id for r in rows]
            hist: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
            for i in range(0, len(ids), CHUNK):
                for h in conn.execute(_HISTORY_OF, {"ids": ids[i:i + CHUNK]}):
                    hist[h.message_id].append(h._asdict())
        return [{**r._asdict(), "history": hist[r.id]} for r in rows]

    def in_channel(self, channel: M.Channel, status: M.Status, limit: int = 500) -> list[dict[str, Any]]:
        """Messages waiting on one channel: letters at the printer, tasks for staff."""
        found = []
        with self.reader.connect() as conn:  # the channel is chain[position]: read the status, then pick
            for r in conn.execute(select(messages).where(messages.c.status == status.value)
                                  .order_by(messages.c.updated_at)):
                if r.chain[r.position] == channel.value:
                    found.append(r._asdict())
                    if len(found) == limit:
                        break
        return found

    def counts(self) -> dict[str, int]:
        with self.reader.connect() as conn:
            return dict(conn.execute(select(messages.c.status, func.count()).group_by(messages.c.status)).all())

    # -- changes from outside --------------------------------------------------------
    def cancel_purpose(self, person: str, purpose: str, now: datetime, why: str) -> list[M.Message]:
        with self.engine.begin() as conn:
            return cancel_pending(conn, and_(messages.c.person_id == person, messages.c.purpose == purpose), now, why)

    def mark_read(self, message_id: str, person: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(update(messages).where(messages.c.id == message_id, messages.c.person_id == person,
                                                    messages.c.read_at.is_(None)).values(read_at=now)).rowcount
        return bool(n)

    # -- preferences -----------------------------------------------------------------
    def preferences(self, persons: Sequence[str]) -> dict[str, M.Preferences]:
        out = {}
        with self.reader.connect() as conn:
            for i in range(0, len(persons), CHUNK):
                for r in conn.execute(select(message_preferences)
                                      .where(message_preferences.c.person_id.in_(persons[i:i + CHUNK]))):
                    out[r.person_id] = M.Preferences.from_dict(r.preferences)
        return out

    def set_preferences(self, person: str, prefs: M.Preferences, now: datetime) -> None:
        row = {"person_id": person, "preferences": prefs.as_dict(), "updated_at": now}
        with self.engine.begin() as conn:
            n = conn.execute(update(message_preferences).where(message_preferences.c.person_id == person)
                             .values(preferences=row["preferences"], updated_at=now)).rowcount
            if not n:
                conn.execute(message_preferences.insert(), row)
