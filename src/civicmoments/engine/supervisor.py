"""The engine's keeper: runs the worker loop in a thread, restarts it with backoff when it dies, and
records a heartbeat so /healthz and /metrics can tell, from any process, whether the engine runs.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..domain.clock import Clock
from ..domain.ids import uuid7
from ..logs import get
from .worker import Worker

log = get("civic.engine")


class EngineSupervisor:
    """Keeps one engine thread alive.

    ``running()`` is true while the thread is alive and has finished a round within
    ``stale_seconds`` (a thread stuck in one batch for longer counts as not running).
    When the thread ends for any reason other than a stop, the supervisor logs the exception's
    class, waits ``min_backoff`` seconds (doubling on each quick failure, up to ``max_backoff``)
    and starts a new one. Heartbeats go to ``health`` (a HealthStore) every ``beat_seconds``.
    """

    def __init__(self, worker: Worker, health: Any, clock: Clock, *, beat_seconds: float = 2.0,
                 stale_seconds: float = 30.0, min_backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self.worker, self.health, self.clock = worker, health, clock
        self.beat_seconds, self.stale_seconds = beat_seconds, stale_seconds
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.stopping = threading.Event()
        self.restarts = 0
        self.last_error: str | None = None
        self.thread: threading.Thread | None = None
        self.keeper: threading.Thread | None = None
        self.started_at = clock.now()
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid7()[-8:]}"

    # -- state ---------------------------------------------------------------------
    def running(self) -> bool:
        thread = self.thread
        if thread is None or not thread.is_alive() or self.stopping.is_set():
            return False
        beat = self.worker.last_beat
        return beat == 0.0 or time.monotonic() - beat < self.stale_seconds

    def status(self) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "running": self.running(), "restarts": self.restarts,
                "last_error": self.last_error}

    # -- life ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the engine in the background."""
        self.keeper = threading.Thread(target=self.run, name="engine-keeper", daemon=True)
        self.keeper.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for t in (self.thread, self.keeper):
            if t is not None and t is not threading.current_thread():
                t.join(timeout)

    def run(self) -> None:
        """Keep the engine running until ``stop()``; returns then."""
        backoff = self.min_backoff
        while not self.stopping.is_set():
            began = time.monotonic()
            self.worker.last_beat = 0.0
            self.thread = threading.Thread(target=self._engine, name="engine", daemon=True)
            self.thread.start()
            while self.thread.is_alive():
                self._beat()
                self.thread.join(self.beat_seconds)
            if self.stopping.is_set():
                break
            if time.monotonic() - began > 10 * self.max_backoff:
                backoff = self.min_backoff  # it ran well for a while: start the backoff afresh
            self.restarts += 1
            self._beat()
            log.error("engine thread stopped; restarting", error=self.last_error, restarts=self.restarts,
                      in_seconds=backoff, worker=self.worker_id)
            self.stopping.wait(backoff)
            backoff = min(self.max_backoff, backoff * 2)
        self._beat()

    def _engine(self) -> None:
        try:
            self.worker.run(self.stopping.is_set)
        except BaseException as exc:  # noqa: BLE001 - whatever ends the thread is reported and survived
            self.last_error = f"{type(exc).__module__}.{type(exc).__name__}"
            log.error("engine thread died", error=self.last_error, worker=self.worker_id)

    def _beat(self) -> None:
        now = self.clock.now()
        try:
            self.health.beat({"worker_id": self.worker_id, "host": socket.gethostname()[:255], "pid": os.getpid(),
                              "started_at": self.started_at, "beat_at": now, "running": self.running(),
                              "restarts": self.restarts, "last_error": self.last_error, "role": self.worker.role},
                             forget_before=now - timedelta(days=1))
        except Exception as exc:  # noqa: BLE001 - a missed heartbeat must not stop the engine
            log.warning("heartbeat not recorded", error=type(exc).__name__)


class Share:
    """This engine's share of the people, where the database has no row locks to divide them
    (SQLite). Of the engines alive that dispatch events (``HealthStore.dispatchers``), this one
    (``worker_id``, counted even before its first heartbeat) is number ``k`` of ``n`` in the
    order of their ids, and takes the people of the partitions ``p`` with ``p % n == k``; one
    engine alone takes everyone. Read again every ``refresh`` seconds.

    An engine is alive while its heartbeat moves: its beat was seen to change within the last
    ``window`` seconds of this process's monotonic clock. That holds whatever each process's
    own clock says (a set clock, ``CIVIC_NOW``, runs at an offset of its own in each process).
    An engine seen for the first time counts when its beat is within ``window`` of the newest
    beat, so a row left by a dead engine is not counted by a newcomer. When engines start or
    stop, the shares move: for a moment two engines may take the same person, which the
    dispatcher's check before writing (``StaleJourneyError``) makes a retry, never a double.
    An engine that dies holds its share for at most ``window`` seconds."""

    def __init__(self, health: Any, worker_id: str, window: float, refresh: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.health, self.worker_id, self.window, self.refresh = health, worker_id, window, refresh
        self.monotonic = monotonic
        self._seen: dict[str, tuple[Any, float]] = {}  # id -> (its last beat, when it was seen to change)
        self._read_at: float | None = None
        self._share = (0, 1)

    def __call__(self) -> tuple[int, int]:
        """``(k, n)``: this engine is number k (from 0) of n."""
        t = self.monotonic()
        if self._read_at is not None and t - self._read_at < self.refresh:
            return self._share
        try:
            beats = self.health.dispatchers()
        except Exception as exc:  # noqa: BLE001 - keep the last share; the check before writing guards
            log.warning("engine shares not read", error=type(exc).__name__)
            return self._share
        newest = max(beats.values(), default=None)
        seen: dict[str, tuple[Any, float]] = {}
        for worker_id, beat in beats.items():
            last = self._seen.get(worker_id)
            if last is None:  # first sight: as fresh as its beat is, next to the newest one
                lag = (newest - beat).total_seconds()
                seen[worker_id] = (beat, t - lag)
            else:
                seen[worker_id] = (beat, t if beat != last[0] else last[1])
        self._seen = seen
        alive = sorted({w for w, (_, moved) in seen.items() if t - moved <= self.window} | {self.worker_id})
        self._share, self._read_at = (alive.index(self.worker_id), len(alive)), t
        return self._share
