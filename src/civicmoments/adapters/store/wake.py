"""Idle workers wake on new work: PostgreSQL ``LISTEN``/``NOTIFY`` instead of polling.

Every transaction that adds inbox events or outbox effects sends ``NOTIFY civic_work``
(``SqlStore._insert_ignore``; PostgreSQL delivers it at commit, once per transaction). An idle
worker waits on its own listening connection for up to ``timeout`` seconds and wakes as soon as
a notification arrives, so new work is picked up at once by every process, on any machine,
without each polling the database. Timers still need a look now and then, which the timeout
gives. On SQLite (one machine, usually one worker) the worker sleeps as before.
"""

from __future__ import annotations

import time

from ...logs import get
from .sql import WORK_CHANNEL

log = get("civic.wake")


class PgWaker:
    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.conn = None

    def _connect(self):
        import psycopg

        self.conn = psycopg.connect(self.url, autocommit=True)
        self.conn.execute(f"LISTEN {WORK_CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Block until work is announced or ``timeout`` seconds pass; True if woken by a notification."""
        try:
            if self.conn is None or self.conn.closed:
                self._connect()
            woken = False
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                woken = True
            if woken:  # take any others already queued, so they do not wake us again for nothing
                for _ in self.conn.notifies(timeout=0.001):
                    pass
            return woken
        except Exception as exc:  # noqa: BLE001 - no listening connection: fall back to a sleep
            log.warning("cannot listen for work; sleeping instead", error=type(exc).__name__)
            self.close()
            time.sleep(min(timeout, 1.0))
            return False

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.conn = None
