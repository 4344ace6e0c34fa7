"""Worker processes killed with SIGKILL, and several workers on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest
from sqlalchemy import func, select, text

from civicmoments.adapters.store.schema import deliveries, inbox, journeys, outbox, timeline
from civicmoments.domain.clock import SystemClock

from ..conftest import ENGINE_PACK, TEST_KEYS, make_app
from ..recording_provider import RecordingProvider

pytestmark = pytest.mark.slow


def worker_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update({**TEST_KEYS, "CIVIC_DATABASE_URL": url, "CIVIC_PACK_DIR": str(ENGINE_PACK), "CIVIC_LOG_LEVEL": "ERROR",
                "CIVIC_IDLE_SLEEP_SECONDS": "0.02", **extra})
    return env


def finish(app, env, journeys_done: int) -> None:
    """A last worker runs until ``journeys_done`` journeys are completed and no effect is left."""
    proc = start_worker(env)
    try:
        deadline = time.monotonic() + 240
        completed = journeys.c.status == "completed"
        unfinished = select(func.count()).where(outbox.c.status != "done")
        while count(app, select(func.count()).where(completed)) < journeys_done or count(app, unfinished):
            assert time.monotonic() < deadline, app.store.counts()
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "civicmoments.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def accept(app, type_: str, rows: list[tuple[str, int]]) -> None:
    now = app.clock.now()
    app.store.accept([{"source": "test://load", "event_id": f"{person}-{n}", "type": type_,
                       "subject": person, "time": now, "data": {"n": n}, "digest": "-", "org_id": None}
                      for person, n in rows], now)


def count(app, q) -> int:
    with app.store.engine.connect() as conn:
        return conn.execute(q).scalar()


def test_killing_the_worker_loses_nothing_and_repeats_no_effect(db_url):
    app = make_app(db_url, SystemClock(), pack=ENGINE_PACK)
    accept(app, "test.case.opened", [(f"person-{i}", i) for i in range(1000)])
    with RecordingProvider() as provider:
        env = worker_env(db_url, CIVIC_EFFECTS_URL=provider.url, CIVIC_EFFECT_LEASE_SECONDS="2",
                         CIVIC_BATCH_SIZE="50", CIVIC_EFFECT_BATCH_SIZE="40")
        kills = 0
        while kills < 5:
            before = sum(provider.performed.values())
            proc = start_worker(env)
            deadline = time.monotonic() + 60
            while sum(provider.performed.values()) < before + 150 and time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"worker exited: {proc.stderr.read().decode()[-2000:]}")
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            assert sum(provider.performed.values()) < 3000, "the work ended before the fifth kill"
        finish(app, env, 1000)
        with app.store.engine.connect() as conn:
            ids = conn.execute(select(journeys.c.id)).scalars().all()
            statuses = dict(conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
            counts = conn.execute(select(inbox.c.process_count, func.count()).group_by(inbox.c.process_count)).all()
        expected = {f"{j}:{step}" for j in ids for step in ("decide", "tell", "give")}
        assert len(ids) == 1000
        assert set(provider.performed) == expected  # every effect performed, none missing, none extra
        assert set(provider.performed.values()) == {1}  # ...and each exactly once
        assert statuses == {"done": 3000}
        assert dict(counts) == {1: sum(c for _, c in counts)}  # no event processed twice
        assert kills == 5
        assert sum(provider.calls.values()) >= 3000


@pytest.mark.parametrize(("db_url", "workers"), [("postgres", 4), ("sqlite", 2)], indirect=["db_url"])
def test_several_workers_keep_per_person_order_and_process_each_event_once(db_url, workers):
    """On PostgreSQL the workers divide the people with row locks; on SQLite each takes its share
    of the partitions (``engine.supervisor.Share``), checked again before it writes."""
    app = make_app(db_url, SystemClock(), pack=ENGINE_PACK)
    people, per_person = 500, 10
    accept(app, "test.tick", [(f"person-{p}", n) for n in range(per_person) for p in range(people)])
    env = worker_env(db_url, CIVIC_BATCH_SIZE="100")
    procs = [start_worker(env) for _ in range(workers)]
    try:
        deadline = time.monotonic() + 240
        while count(app, select(func.count()).where(inbox.c.status == "pending")) > 0 or \
                count(app, select(func.count()).where(outbox.c.status != "done")) > 0:
            assert time.monotonic() < deadline, app.store.counts()
            for p in procs:
                assert p.poll() is None, p.stderr.read().decode()[-2000:]
            time.sleep(0.2)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
    total = people * per_person
    with app.store.engine.connect() as conn:
        process_counts = conn.execute(select(inbox.c.process_count)).scalars().all()
        started = conn.execute(
            select(journeys.c.person, journeys.c.state, timeline.c.id)
            .join(timeline, timeline.c.journey_id == journeys.c.id)
            .where(timeline.c.kind == "started")
        ).all()
        delivered = conn.execute(select(func.count()).select_from(deliveries)).scalar()
    assert len(process_counts) == total and set(process_counts) == {1}
    assert len(started) == total and delivered == total
    order: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for person, state, timeline_id in started:
        order[person].append((timeline_id, state["trigger"]["data"]["n"]))
    for person, seen in order.items():
        assert [n for _, n in sorted(seen)] == list(range(per_person)), person


def test_killing_the_worker_mid_batch_with_poison_events_in_the_batch_loses_nothing(db_url):
    app = make_app(db_url, SystemClock(), pack=ENGINE_PACK)
    accept(app, "test.case.opened", [(f"person-{i}", i) for i in range(300)])
    poison = ["person-10-10", "person-160-160"]  # in the first batch, and in a later one
    with app.store.engine.begin() as conn:
        bad = "'0001-01-01 00:00:00+14'" if app.store.pg else "'1-01-01 00:00:00.000000'"
        conn.execute(text(f"UPDATE inbox SET time = {bad} WHERE event_id IN ('{poison[0]}', '{poison[1]}')"))
    with RecordingProvider() as provider:
        env = worker_env(db_url, CIVIC_EFFECTS_URL=provider.url, CIVIC_EFFECT_LEASE_SECONDS="2",
                         CIVIC_BATCH_SIZE="50", CIVIC_EFFECT_BATCH_SIZE="40")
        for target in (1, 200):  # the first kill lands while the first batch's effects are going out
            proc = start_worker(env)
            deadline = time.monotonic() + 60
            while sum(provider.performed.values()) < target and time.monotonic() < deadline:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        finish(app, env, 298)
        quarantined = app.store.quarantined()
        with app.store.engine.connect() as conn:
            ids = conn.execute(select(journeys.c.id)).scalars().all()
            counts = conn.execute(select(inbox.c.process_count, func.count())
                                  .where(inbox.c.status == "processed").group_by(inbox.c.process_count)).all()
    assert sorted(q["event_id"] for q in quarantined) == poison
    assert all(q["error"].startswith("the stored event cannot be read back") for q in quarantined)
    assert len(ids) == 298
    assert set(provider.performed) == {f"{j}:{step}" for j in ids for step in ("decide", "tell", "give")}
    assert set(provider.performed.values()) == {1}  # every effect exactly once
    assert dict(counts) == {1: sum(c for _, c in counts)}  # no event processed twice
