"""The worker loop: fire due timers, dispatch a batch, perform effects; repeat."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError

from ..domain.clock import Clock
from ..logs import get
from .dispatcher import Dispatcher
from .effects import EffectRunner
from .ports import BatchFailedError, StaleJourneyError

log = get("civic.worker")
# How long an idle sending thread waits before looking again, unless this process queues a
# message first: what it still has to find on its own are retries coming due and messages other
# processes queued (the portal's, say), for which a quarter of a second is soon enough.
SEND_POLL_SECONDS = 0.25
# What ``Worker.run`` does in a process: everything; the engine without sending messages; or only
# sending messages. Sending apart gives it a core of its own: several processes may share the work,
# each claiming its own batches (``civic worker --role``).
ROLES = ("all", "engine", "sender")


@dataclass
class Worker:
    store: object
    dispatcher: Dispatcher
    effects: EffectRunner
    clock: Clock
    batch_size: int = 500
    idle_sleep: float = 0.05
    messenger: object | None = None  # sends queued messages down their channel chains
    one_at_a_time: int = 0  # after a failed batch: events left to dispatch singly, to isolate the bad one
    last_beat: float = field(default=0.0)  # time.monotonic() at the end of the last round
    periodic: list[tuple[float, Callable[[], object]]] = field(default_factory=list)  # (seconds, task)
    wake: Callable[[float], object] | None = None  # waits for announced work (PostgreSQL NOTIFY), or None
    wake_timeout: float = 0.5  # with ``wake``: the longest idle wait, so timers and tasks are still seen
    slice_size: int = 100  # people started per round while earlier journeys have an effect batch due; 0: no limit
    send_apart: bool = True  # in ``run``: the messenger sends on a thread of its own (``send_loop``)
    role: str = "all"  # in ``run``: one of ROLES
    _last: dict[int, float] = field(default_factory=dict)

    def housekeeping(self) -> None:
        """Tasks run every so many seconds of wall time (access-log checkpoints), one failure
        at a time: a task that fails is logged and tried again at its next turn."""
        now = time.monotonic()
        for i, (every, task) in enumerate(self.periodic):
            if now - self._last.get(i, float("-inf")) < every:
                continue
            self._last[i] = now
            try:
                task()
            except Exception as exc:  # noqa: BLE001 - housekeeping never stops the engine
                log.error("periodic task failed", task=getattr(task, "__qualname__", "?"), error=type(exc).__name__)

    def fresh(self) -> int | None:
        """How many people new to the queue this round may start with (``None``: as many as the
        batch holds). Journeys under way always go first; new ones start a slice at a time, and
        only while the effects already due fit in one round, so a large report streams: each
        slice reaches its notices before the next one needs the same effect workers."""
        if not self.slice_size:
            return None
        busy = self.store.effects_in_hand(self.clock.now(), self.effects.batch_size)
        return self.slice_size if busy < self.effects.batch_size else 0

    def run_once(self, messages: bool = True) -> int:
        """One round: due timers, a batch of events, a batch of effects, and (``messages``) a batch of
        messages. Returns how much was done (0: nothing was waiting)."""
        done = 0
        try:
            done += self.store.fire_due_timers(self.clock.now())
            if self.one_at_a_time > 0:
                n = self.store.dispatch(1, self.dispatcher.handle)
                self.one_at_a_time = self.one_at_a_time - 1 if n else 0
                done += n
            else:
                done += self.store.dispatch(self.batch_size, self.dispatcher.handle, self.fresh())
        except StaleJourneyError as exc:
            log.warning("batch rolled back, will retry", reason=str(exc))
        except BatchFailedError as exc:
            log.error("batch failed, dispatching one event at a time", error=str(exc),
                      cause=type(exc.__cause__).__name__)
            self.one_at_a_time = self.batch_size
        done += self.effects.run_once()
        if self.messenger is not None and messages:
            done += self.messenger.run_once()
        return done

    def send_loop(self, should_stop: Callable[[], bool]) -> None:
        """The messenger's loop: claim due messages, send them, settle them; repeat until ``should_stop()``.
        ``run`` runs it on a thread of its own (``send_apart``), so emails go out while the next events
        are dispatched and their notices rendered, instead of taking turns with them. Idle, it waits for the
        messenger's ``queued`` signal (or ``SEND_POLL_SECONDS``) rather than polling. A database error
        backs off as in ``run``; any other error ends the loop (and ``run`` with it)."""
        failures = 0
        queued = self.messenger.queued
        while not should_stop():
            queued.clear()  # before the look: a message queued during it wakes the next wait at once
            try:
                sent = self.messenger.run_once()
                failures = 0
                if self.role == "sender":
                    self.last_beat = time.monotonic()  # this loop is the process's engine: its heartbeat
            except DBAPIError as exc:
                failures += 1
                log.error("database error while sending, backing off", error=type(exc.orig).__name__,
                          failures=failures)
                time.sleep(min(5.0, 0.1 * 2**failures))
                continue
            if not sent:
                queued.wait(max(self.idle_sleep, SEND_POLL_SECONDS))

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Work until ``should_stop()``, as ``role`` says. Raises ``ValueError`` for a role not in
        ``ROLES``, or "sender" without a messenger."""
        if self.role not in ROLES:
            raise ValueError(f"unknown worker role {self.role!r}: one of {', '.join(ROLES)}")
        log.info("worker started", role=self.role)
        if self.role == "sender":
            if self.messenger is None:
                raise ValueError("a sending worker needs a messenger")
            self.send_loop(should_stop)
            log.info("worker stopped")
            return
        sends = self.messenger is not None and self.role == "all"
        ended = threading.Event()  # set when this loop ends, or when the sending thread fails
        failed: list[BaseException] = []
        sender = None
        if sends and self.send_apart:
            def send() -> None:
                try:
                    self.send_loop(lambda: should_stop() or ended.is_set())
                except BaseException as exc:  # noqa: BLE001 - handed to the engine loop, which stops with it
                    failed.append(exc)
                    ended.set()

            sender = threading.Thread(target=send, name="messenger", daemon=True)
            sender.start()
        try:
            self._loop(lambda: should_stop() or ended.is_set(), messages=sends and sender is None)
        finally:
            ended.set()
            if sender is not None:
                self.messenger.queued.set()  # wakes it to see the end
                sender.join()
        if failed:
            raise failed[0]
        log.info("worker stopped")

    def _loop(self, should_stop: Callable[[], bool], messages: bool) -> None:
        failures = 0
        idle = False
        while not should_stop():
            self.housekeeping()
            try:
                # After an idle round, one look says whether anything is due before a full round
                # makes its look per kind of work: an idle worker polls at a quarter of the cost.
                done = 0 if idle and not self.store.work_due(self.clock.now()) else self.run_once(messages)
                failures = 0
            except DBAPIError as exc:
                failures += 1
                log.error("database error, backing off", error=type(exc.orig).__name__, failures=failures)
                time.sleep(min(5.0, 0.1 * 2**failures))
                continue
            self.last_beat = time.monotonic()
            idle = not done
            if not done:
                if self.wake is not None:
                    self.wake(self.wake_timeout)
                else:
                    time.sleep(self.idle_sleep)

    def drain(self, max_rounds: int = 100_000, progress: Callable[[int], None] | None = None) -> int:
        """Run until nothing is left to do now (demo and tests)."""
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            total += done
            if progress and done:
                progress(done)
            now = self.clock.now()
            if not done and self.store.is_idle(now) and not (self.messenger and self.messenger.busy(now)):
                return total
        raise RuntimeError(f"still busy after {max_rounds} rounds")
