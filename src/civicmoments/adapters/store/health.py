"""Engine heartbeats and the inbox's backlog, in SQL: what /healthz and /metrics report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from .schema import engine_heartbeats, inbox
from .sql import PENDING_EVENT, QUARANTINED_EVENT, utc


class HealthStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine

    def beat(self, row: dict[str, Any], forget_before: datetime) -> None:
        """Record one engine's heartbeat (replacing its last one); forget engines silent since ``forget_before``."""
        with self.engine.begin() as conn:
            conn.execute(delete(engine_heartbeats).where(
                (engine_heartbeats.c.worker_id == row["worker_id"]) | (engine_heartbeats.c.beat_at < forget_before)))
            conn.execute(insert(engine_heartbeats), row)

    def engines(self, since: datetime) -> list[dict[str, Any]]:
        """Engines that beat at or after ``since``, newest first."""
        with self.reader.connect() as conn:
            rows = conn.execute(select(engine_heartbeats).where(engine_heartbeats.c.beat_at >= since)
                                .order_by(engine_heartbeats.c.beat_at.desc())).all()
        return [{**dict(r._mapping), "beat_at": utc(r.beat_at), "started_at": utc(r.started_at)} for r in rows]

    def dispatchers(self) -> dict[str, datetime]:
        """The running engines that dispatch events (role "all" or "engine", not "sender"): each
        one's id and the time of its last heartbeat, by its own clock (UTC)."""
        with self.reader.connect() as conn:
            return {r.worker_id: utc(r.beat_at) for r in conn.execute(
                select(engine_heartbeats.c.worker_id, engine_heartbeats.c.beat_at).where(
                    engine_heartbeats.c.running.is_(True), engine_heartbeats.c.role != "sender"))}

    def backlog(self) -> dict[str, Any]:
        """Pending and quarantined event counts, and when the oldest pending event was received (UTC)."""
        with self.reader.connect() as conn:
            pending, oldest = conn.execute(
                select(func.count(), func.min(inbox.c.received_at)).where(PENDING_EVENT)
            ).one()
            quarantined = conn.execute(
                select(func.count()).select_from(inbox).where(QUARANTINED_EVENT)
            ).scalar()
        if isinstance(oldest, str):  # SQLite's min() returns the stored text
            oldest = datetime.fromisoformat(oldest)
        return {"pending": pending, "quarantined": quarantined, "oldest_pending": utc(oldest)}
