"""Poison events: none can stop the engine, and /healthz tells the truth while it works around them."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from civicmoments.api.app import create_app
from civicmoments.domain.clock import SystemClock

from ..conftest import ENGINE_PACK, make_app

JOB_ENDED = "test.tick"  # the engine pack's light moment: one effect per event
SOURCE = "https://northfield.example/hr"
DATA = {"n": 1}


def event(n: int, **attrs) -> dict:
    return {"specversion": "1.0", "type": JOB_ENDED, "source": SOURCE, "id": f"n-{n}", "subject": f"p-{n}",
            "data": DATA, **attrs}


@pytest.fixture
def running(db_url):
    """An App on the wall clock, its organisation, and a test client for /healthz."""
    app = make_app(db_url, SystemClock(), pack=ENGINE_PACK, settings={"engine_restart_backoff_seconds": 1.0,
                                                    "engine_heartbeat_seconds": 0.2})
    org, _ = app.organisations.add("Northfield", ["https://northfield.example/*"], ["test.*"])
    client = TestClient(create_app(app))
    yield app, org, client
    if app.supervisor is not None:
        app.supervisor.stop()
    app.store.close()


def poison_the_stored_time(app, event_id: str) -> None:
    """Store a time the database holds but cannot hand back, as an older release could write it."""
    with app.store.engine.begin() as conn:
        if app.store.pg:  # year 1 at +14:00 is 1 BC in UTC: PostgreSQL keeps it, the driver cannot read it
            conn.execute(text("UPDATE inbox SET time = '0001-01-01 00:00:00+14' WHERE event_id = :id"),
                         {"id": event_id})
        else:  # the unpadded year strftime wrote on glibc
            conn.execute(text("UPDATE inbox SET time = '1-01-01 00:00:00.000000' WHERE event_id = :id"),
                         {"id": event_id})


def watch_health(client: TestClient, stop: threading.Event, seen: list) -> None:
    while not stop.is_set():
        r = client.get("/healthz")
        seen.append((r.status_code, r.json()))
        time.sleep(0.05)


def wait_until(predicate, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("time_", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59Z",
                                   "9999-12-31T23:59:59Z"])
def test_a_time_outside_the_window_is_refused_with_its_own_problem(running, time_):
    app, org, _ = running
    (receipt,) = app.intake.submit(org, [event(1, time=time_)])
    assert receipt.status == "rejected"
    assert receipt.problem.as_dict()["type"].endswith("/event-time-out-of-range")
    assert "1900-01-01T00:00:00Z" in receipt.problem.detail
    assert app.store.counts()["events"] == {}


def test_the_year_one_is_stored_in_a_form_every_database_reads_back(running):
    app, _, _ = running
    when = datetime(1, 1, 1, tzinfo=timezone.utc)
    app.store.accept([{"source": SOURCE, "event_id": "old", "type": JOB_ENDED, "subject": "p", "time": when,
                       "data": DATA, "digest": "-", "org_id": None}], when)
    seen = []
    assert app.store.dispatch(10, lambda events, active: seen.extend(events) or _processed(events)) == 1
    assert seen[0].time == when


def _processed(events):
    from civicmoments.engine.ports import BatchResult

    return BatchResult(datetime.now(timezone.utc), processed=[e.seq for e in events])


def _year_one_then_a_hundred(app, org) -> None:
    when = datetime(2026, 11, 20, tzinfo=timezone.utc)
    app.store.accept([{"source": SOURCE, "event_id": "poison", "type": JOB_ENDED, "subject": "p-poison",
                       "time": when, "data": DATA, "digest": "-", "org_id": org.id}], when)
    poison_the_stored_time(app, "poison")
    receipts = app.intake.submit(org, [event(n) for n in range(100)])
    assert {r.status for r in receipts} == {"accepted"}


def _finished(app) -> bool:
    with app.store.reader.connect() as conn:
        rows = dict(conn.execute(text("SELECT status, count(*) FROM inbox WHERE source = :s GROUP BY status"),
                                 {"s": SOURCE}).all())
    return rows == {"processed": 100, "quarantined": 1}


def test_a_year_one_event_then_a_hundred_ordinary_ones_all_hundred_are_processed(running):
    app, org, client = running
    _year_one_then_a_hundred(app, org)
    before = client.get("/healthz")
    assert before.status_code == 503 and before.json()["engine"]["running"] is False  # nothing runs yet
    assert before.json()["events"]["pending"] == 101
    app.start_engine().start()
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_health, args=(client, stop, seen))
    watcher.start()
    try:
        wait_until(lambda: _finished(app))
    finally:
        stop.set()
        watcher.join()
    (q,) = app.store.quarantined()
    assert q["event_id"] == "poison"
    assert q["error"].startswith("the stored event cannot be read back: ")
    assert ("sqlalchemy.exc.DataError" if app.store.pg else "ValueError") in q["error"]
    assert len(app.store.journeys_for(limit=1000)) == 100
    codes = [code for code, _ in seen]
    assert codes and set(codes) == {200}, "the engine ran throughout, and /healthz said so"
    final = client.get("/healthz").json()
    assert final["engine"] == {"running": True, "engines": 1, "restarts": 0, "last_error": None}
    assert final["events"]["quarantined"] == 1
    metrics = client.get("/metrics").text
    assert "civic_engine_up 1.0" in metrics and "civic_events_quarantined 1.0" in metrics


class Killed(BaseException):
    """Ends the engine thread the way an unexpected crash would."""


def test_an_engine_thread_killed_on_purpose_is_restarted_and_healthz_says_so(running):
    app, org, client = running
    _year_one_then_a_hundred(app, org)
    real = app.store.dispatch
    kills = {"left": 1}

    def dispatch_then_die(limit, handler, fresh=None):
        if kills["left"]:
            kills["left"] -= 1
            raise Killed()
        return real(limit, handler, fresh)

    app.store.dispatch = dispatch_then_die
    app.start_engine().start()
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_health, args=(client, stop, seen))
    watcher.start()
    try:
        wait_until(lambda: _finished(app))
        wait_until(lambda: client.get("/healthz").status_code == 200)
    finally:
        stop.set()
        watcher.join()
    down = [body for code, body in seen if code == 503]
    assert down, "while the thread was dead and waiting to restart, /healthz answered 503"
    assert all(body["engine"]["running"] is False for body in down)
    assert any(body["engine"]["last_error"] == f"{__name__}.Killed" for body in down)
    final = client.get("/healthz").json()
    assert final["engine"]["running"] is True and final["engine"]["restarts"] == 1
    assert "civic_engine_restarts 1.0" in client.get("/metrics").text
    assert [code for code, _ in seen][-1] == 200


def test_a_batch_that_cannot_be_written_is_retried_one_event_at_a_time(running):
    app, org, _ = running
    app.intake.submit(org, [event(n) for n in range(20)])
    real = app.store._write_batch

    def refuse_n7(conn, result, *prepared):
        seqs = set(result.processed)
        with app.store.reader.connect() as c:
            bad = c.execute(text("SELECT seq FROM inbox WHERE event_id = 'n-7'")).scalar()
        if bad in seqs:
            raise ValueError("cannot write this one")
        return real(conn, result, *prepared)

    app.store._write_batch = refuse_n7
    app.start_engine().start()
    wait_until(lambda: app.store.counts()["events"].get("quarantined") == 1
               and app.store.counts()["events"].get("processed", 0) >= 19)
    (q,) = app.store.quarantined()
    assert q["event_id"] == "n-7"
    assert q["error"] == "the event could not be processed: builtins.ValueError: cannot write this one"
