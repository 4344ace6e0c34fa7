"""Idle workers wake on new work: an event accepted in one process wakes a worker listening in another."""

from __future__ import annotations

import threading
import time

from civicmoments.adapters.store.wake import PgWaker
from civicmoments.domain.clock import FakeClock

from ..conftest import make_app


def test_an_accepted_event_wakes_a_waiting_worker_at_once(pg_url):
    app = make_app(pg_url, FakeClock())
    waker = PgWaker(pg_url)
    assert waker.wait(0.2) is False  # nothing announced: it waits the whole timeout
    woken: list[tuple[bool, float]] = []

    def wait() -> None:
        started = time.monotonic()
        woken.append((waker.wait(30), time.monotonic() - started))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)  # the worker is idle, listening
    app.store.publish("civic.eligibility.changed", "someone", {"date": "2026-01-05"}, app.clock.now())
    waiter.join(35)
    ((was_woken, after),) = woken
    assert was_woken and after < 29, "woken by the notification, not by the timeout"
    waker.close()
    app.store.close()


def test_a_worker_with_a_waker_still_finishes_the_work(pg_url):
    app = make_app(pg_url, FakeClock())
    app.worker.wake = PgWaker(pg_url).wait
    app.store.publish("civic.eligibility.changed", "someone", {"date": "2026-01-05"}, app.clock.now())
    stop = threading.Event()
    runner = threading.Thread(target=app.worker.run, args=(stop.is_set,))
    runner.start()
    for _ in range(100):
        if app.store.is_idle(app.clock.now()):
            break
        time.sleep(0.1)
    stop.set()
    runner.join(10)
    assert app.store.is_idle(app.clock.now())
    app.store.close()
