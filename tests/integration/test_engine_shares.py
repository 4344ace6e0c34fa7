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
    share = Share(app.health, "b", app.clock, window=10.0)
    assert share() == (0, 1)  # alone, before its first heartbeat: everyone
    for worker_id in ("a", "b"):
        beat(app, worker_id)
    beat(app, "c", role="sender")  # sends messages, dispatches no events
    beat(app, "d", ago=30)  # silent for longer than the window
    beat(app, "e", running=False)  # stopped
    assert share() == (0, 1)  # read again only after a second
    app.clock.advance(timedelta(seconds=1))
    assert share() == (1, 2)
    beat(app, "0", role="engine")
    app.clock.advance(timedelta(seconds=1))
    assert share() == (2, 3)


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
