"""Leases on the parts of a job split across processes (the daily sweep for one day).

A job (``sweep:2026-11-30``) has ``parts`` rows. ``take`` gives the caller one part that is
not done and not leased to another (or whose lease ran out: its taker died), under a row lock
taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so processes on several machines never
take the same part at once and never wait on each other; SQLite's writes are serialised by
``BEGIN IMMEDIATE``. ``done`` marks the part finished, only for the holder of the lease, so a
part is never done twice: a taker that outlived its lease and finds the part taken again
learns so (``done`` returns False) and the work it did is the idempotent kind (event ids
derived from the person and the day), so nothing is told twice.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from .bulk import Bulk
from .schema import partition_leases as leases


class PartitionLeases:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine
        self.bulk = Bulk(engine.dialect.name)

    def take(self, job: str, parts: int, holder: str, now: datetime, lease_seconds: float) -> int | None:
        """A part of ``job`` (0 to ``parts`` - 1) leased to ``holder`` until ``now`` + ``lease_seconds``;
        None when every part is done or leased to someone else."""
        with self.engine.begin() as conn:
            self.bulk.insert(conn, leases, [{"job": job, "part": p, "parts": parts, "status": "open", "attempts": 0}
                                            for p in range(parts)], ignore_conflicts=True)
            q = (select(leases.c.part).where(leases.c.job == job, leases.c.status == "open",
                                             or_(leases.c.leased_until.is_(None), leases.c.leased_until < now))
                 .order_by(leases.c.part).limit(1))
            if self.engine.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            part = conn.execute(q).scalar()
            if part is None:
                return None
            conn.execute(update(leases).where(leases.c.job == job, leases.c.part == part)
                         .values(holder=holder, leased_until=now + timedelta(seconds=lease_seconds),
                                 attempts=leases.c.attempts + 1))
            return part

    def done(self, job: str, part: int, holder: str, now: datetime, result: dict[str, Any] | None = None) -> bool:
        """Mark the part done; False if the lease is no longer ``holder``'s (it ran out and another took it)."""
        with self.engine.begin() as conn:
            n = conn.execute(update(leases).where(and_(leases.c.job == job, leases.c.part == part,
                                                       leases.c.holder == holder, leases.c.status == "open"))
                             .values(status="done", done_at=now, leased_until=None, result=result)).rowcount
        return n == 1

    def parts(self, job: str) -> list[dict[str, Any]]:
        """Every part of ``job`` with its status, holder, attempts and result, in part order."""
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(leases).where(leases.c.job == job)
                                                           .order_by(leases.c.part))]


def part_of(key: str, parts: int) -> int:
    """The part (0 to ``parts`` - 1) a household or person id falls in: CRC-32 of its UTF-8, modulo ``parts``."""
    return zlib.crc32(key.encode()) % parts
