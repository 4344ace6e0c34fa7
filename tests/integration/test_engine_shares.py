"""Several engines on one SQLite file: each takes its share of the people's partitions, read from
the heartbeats of the engines that dispatch events."""

from __future__ import annotations

from datetime import timedelta

from civicmoments.adapters.store.sql import partition_of
from civicmoments.domain.clock import FakeClock
from civicmoments.engine.supervisor import Share

from ..conftest import ENGINE_PACK, make_app
from .test_crash_and_concurrency import accept


def beat(app, worker_id: str, role: str = "all", ago: float = 0.0, running: bool = True) -> None:
    now = app.clock.now()
    app.health.beat({"worker_id": worker_id, "host": "h", "pid": 1, "started_at": now, "running": running,
                     "beat_at": now - timedelta(seconds=ago), "restarts": 0, "last_error": None, "role": role},
                    forget_before=now - timedelta(days=1))


def test_each_engine_is_counted_once_in_the_order_of_ids_and_senders_and_the_silent_are_left_out(sqlite_url):
    app = make_app(sqlite_url, FakeClock())
    t = [100.0]  # this process's monotonic clock
    share = Share(app.health, "b", window=10.0, monotonic=lambda: t[0])
    assert share() == (0, 1)  # alone, before its first heartbeat: everyone
    for worker_id in ("a", "b"):
        beat(app, worker_id)
    beat(app, "c", role="sender")  # sends messages, dispatches no events
    beat(app, "d", ago=30)  # a row left by an engine silent for longer than the window
    beat(app, "e", running=False)  # stopped
    assert share() == (0, 1)  # read again only after a second
    t[0] += 1
    assert share() == (1, 2)
    beat(app, "0", role="engine", ago=3600)  # a newcomer whose clock is an hour behind: counted once it moves
    t[0] += 1
    assert share() == (1, 2)  # not yet: its beat is an hour older than the newest
    beat(app, "0", role="engine", ago=3599)
    t[0] += 1
    assert share() == (2, 3)
    for _ in range(10):  # "0" and "b" beat on; "a" has stopped beating (killed): dropped after the window
        app.clock.advance(timedelta(seconds=1))
        beat(app, "b")
        beat(app, "0", role="engine", ago=3600)
        t[0] += 1
        share()
    assert share() == (1, 2)


def test_an_engine_takes_only_the_people_of_its_share_and_together_they_take_everyone(sqlite_url):
    app = make_app(sqlite_url, FakeClock(), pack=ENGINE_PACK)
    people = [f"person-{i}" for i in range(60)]
    accept(app, "test.tick", [(p, 0) for p in people])
    count = app.store.partition_count
    taken: dict[int, set[str]] = {}
    for k in (0, 1):
        app.store.share = lambda k=k: (k, 2)
        seen: set[str] = set()

        def handler(events, active, seen=seen):
            seen.update(e.subject for e in events)
            return app.dispatcher.handle(events, active)

        while app.store.dispatch(500, handler):
            pass
        taken[k] = seen
    assert taken[0] and taken[1] and not taken[0] & taken[1]
    assert taken[0] | taken[1] == set(people)
    assert all(partition_of(p, count) % 2 == k for k, ps in taken.items() for p in ps)


def test_health_does_not_count_a_sending_worker_as_an_engine(sqlite_url):
    from civicmoments.engine.health import engine_health

    app = make_app(sqlite_url, FakeClock())
    beat(app, "s", role="sender")
    report = engine_health(app.health, app.clock, None, 60.0)
    assert report["status"] == "failing" and report["engine"]["engines"] == 0  # nothing dispatches events
    beat(app, "w", role="engine")
    report = engine_health(app.health, app.clock, None, 60.0)
    assert report["status"] == "ok" and report["engine"]["engines"] == 1
