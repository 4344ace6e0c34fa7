"""Rate limits and provider health shared by every process on one database.

A token bucket per key (``provider:<name>``, ``transit:<organisation id>``) lives in a row; a
take reads and updates it under the row's lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
writes are serialised by ``BEGIN IMMEDIATE``), so four workers and two web processes share one
limit instead of each having their own. Time is wall time (``time.time``, seconds): limits are
about the real world's seconds, and processes on several machines share no monotonic clock.

A provider set aside by one process (its error rate crossed the threshold) is set aside for
all of them until ``down_until``; each process reads that at most once a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, func, select, update

from .bulk import Bulk
from .schema import provider_health, rate_buckets


class SharedLimits:
    def __init__(self, engine: Engine, wall: Callable[[], float] = time.time) -> None:
        self.engine, self.wall = engine, wall
        self.bulk = Bulk(engine.dialect.name)
        self._seen: dict[str, tuple[float, float]] = {}  # provider -> (read at, down until)

    def take(self, key: str, rate: float, wanted: int) -> int:
        """Up to ``wanted`` tokens from the bucket ``key`` (``rate`` a second, one second's worth in hand)."""
        now = self.wall()
        with self.engine.begin() as conn:
            self.bulk.insert(conn, rate_buckets, [{"key": key, "tokens": float(rate), "at": now}],
                             ignore_conflicts=True)
            q = select(rate_buckets.c.tokens, rate_buckets.c.at).where(rate_buckets.c.key == key)
            if self.engine.dialect.name == "postgresql":
                q = q.with_for_update()
            tokens, at = conn.execute(q).one()
            tokens = min(float(rate), tokens + max(0.0, now - at) * rate)
            got = min(wanted, int(tokens))
            conn.execute(update(rate_buckets).where(rate_buckets.c.key == key)
                         .values(tokens=tokens - got, at=max(now, at)))
        return got

    def give_back(self, key: str, rate: float, n: int) -> None:
        """Return ``n`` unused tokens to the bucket ``key`` (never above its one second's worth)."""
        if n <= 0:
            return
        with self.engine.begin() as conn:
            conn.execute(update(rate_buckets).where(rate_buckets.c.key == key)
                         .values(tokens=func.least(float(rate), rate_buckets.c.tokens + n)
                                 if self.engine.dialect.name == "postgresql"
                                 else func.min(float(rate), rate_buckets.c.tokens + n)))

    def set_aside(self, name: str, until: float, error_rate: float) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, provider_health, [{"name": name, "down_until": until, "error_rate": error_rate}],
                             ignore_conflicts=True)
            conn.execute(update(provider_health).where(provider_health.c.name == name)
                         .values(down_until=until, error_rate=error_rate))
        self._seen[name] = (self.wall(), until)

    def down_until(self, name: str) -> float:
        """Until when (Unix time) the provider is set aside by any process; 0 when it is not."""
        now = self.wall()
        read_at, until = self._seen.get(name, (float("-inf"), 0.0))
        if now - read_at >= 1.0:
            with self.engine.connect() as conn:
                until = conn.execute(select(provider_health.c.down_until)
                                     .where(provider_health.c.name == name)).scalar() or 0.0
            self._seen[name] = (now, until)
        return until
