"""Rate limits and provider health hold across processes: several processes share one limit.

Each process is a real OS process on the same PostgreSQL database, taking from one bucket as
fast as it can; what all of them got together is what one limit allows, not one each.
"""

from __future__ import annotations

import multiprocessing
import time

from civicmoments.adapters.store.engine import make_engines
from civicmoments.adapters.store.limits import SharedLimits
from civicmoments.domain.clock import FakeClock

from ..conftest import make_app

RATE, SECONDS, PROCESSES = 20.0, 2.0, 4


def hammer(url: str, ready, go, start, got) -> None:
    writer, _ = make_engines(url, 2)
    limits = SharedLimits(writer)
    limits.take("warm-up", 1.0, 1)  # connected before the clock counts
    ready.put(1)
    go.wait(120)
    n = 0
    while time.time() < start.value + SECONDS:
        n += limits.take("provider:sms:notify", RATE, 5)
    got.put(n)
    writer.dispose()


def test_four_processes_share_one_limit(pg_url):
    make_app(pg_url, FakeClock()).store.close()  # the tables
    ctx = multiprocessing.get_context("spawn")
    ready, got, go, start = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    procs = [ctx.Process(target=hammer, args=(pg_url, ready, go, start, got)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for _ in procs:  # every process is up and connected before the clock counts
        ready.get(timeout=120)
    start.value = time.time()
    go.set()
    total = sum(got.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    allowed = RATE * (time.time() - start.value) + RATE  # the window (and the stragglers), plus a second in hand
    assert total <= allowed + 1, f"{total} taken by {PROCESSES} processes; one limit allows {allowed:.0f}"
    assert total >= RATE * SECONDS * 0.5, "the limit let through far less than it allows"


def test_a_provider_set_aside_by_one_process_is_set_aside_for_all(pg_url):
    make_app(pg_url, FakeClock()).store.close()
    a, _ = make_engines(pg_url, 2)
    b, _ = make_engines(pg_url, 2)
    one, other = SharedLimits(a), SharedLimits(b)
    assert other.down_until("sms:notify") == 0.0
    one.set_aside("sms:notify", time.time() + 30, 0.6)
    other._seen.clear()  # as after its one-second cache
    assert other.down_until("sms:notify") > time.time() + 25
    a.dispose()
    b.dispose()


def test_tokens_taken_but_not_used_go_back_to_the_bucket(pg_url):
    from civicmoments.engine.providers import Allowance

    make_app(pg_url, FakeClock()).store.close()
    writer, _ = make_engines(pg_url, 2)
    wall = [1000.0]
    limits = SharedLimits(writer, wall=lambda: wall[0])
    allowance = Allowance("provider:effects", 10.0, limits)
    assert allowance.take(25) == 10  # one second's worth in hand
    assert allowance.take(5) == 0
    allowance.give_back(4)
    assert allowance.take(25) == 4
    allowance.give_back(50)  # never above one second's worth
    assert allowance.take(25) == 10
    wall[0] += 0.5
    assert allowance.take(25) == 5
    writer.dispose()


def test_without_a_shared_store_the_allowance_is_the_processs_own():
    from civicmoments.engine.providers import Allowance

    now = [0.0]
    allowance = Allowance("provider:effects", 4.0, monotonic=lambda: now[0])
    assert allowance.take(10) == 4
    allowance.give_back(3)
    assert allowance.take(10) == 3
    now[0] += 1.0
    assert allowance.take(10) == 4
