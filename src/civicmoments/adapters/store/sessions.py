"""Server-side sessions: the browser holds only a random token; the database holds the
session under the token's SHA-256, so ending a session here ends it for every copy of the
cookie."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Engine

from .schema import sessions

# Built once: every request reads its session, and making the statement cost more than running it.
_LIVE = select(sessions.c.data, sessions.c.expires_at).where(
    sessions.c.id == bindparam("session_id"), sessions.c.expires_at > bindparam("now"))


class SessionStore:
    def __init__(self, engine: Engine, reader: Engine) -> None:
        self.engine, self.reader = engine, reader

    def load(self, session_id: str, now: datetime) -> dict[str, Any] | None:
        found = self.load_expiring(session_id, now)
        return found[0] if found else None

    def load_expiring(self, session_id: str, now: datetime) -> tuple[dict[str, Any], datetime] | None:
        """The live session's data and when it ends (aware, UTC), or None when it has ended or never was."""
        with self.reader.connect() as conn:
            row = conn.execute(_LIVE, {"session_id": session_id, "now": now}).first()
        if row is None:
            return None
        ends = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc)
        return dict(row.data), ends

    def save(self, session_id: str, data: dict[str, Any], now: datetime, expires_at: datetime) -> None:
        with self.engine.begin() as conn:
            changed = conn.execute(update(sessions).where(sessions.c.id == session_id).values(
                data=data, person_id=data.get("person"), seen_at=now)).rowcount
            if not changed:
                conn.execute(sessions.insert().values(id=session_id, data=data, person_id=data.get("person"),
                                                      created_at=now, seen_at=now, expires_at=expires_at))

    def renew(self, session_id: str, now: datetime, expires_at: datetime) -> bool:
        """Move a live session's end to ``expires_at`` ("Stay signed in"); False when it has already ended."""
        with self.engine.begin() as conn:
            return bool(conn.execute(update(sessions).where(sessions.c.id == session_id, sessions.c.expires_at > now)
                                     .values(seen_at=now, expires_at=expires_at)).rowcount)

    def end(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.id == session_id))

    def end_for_person(self, person_id: str) -> int:
        """End every session of a person (signing out everywhere)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.person_id == person_id)).rowcount

    def purge(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount
