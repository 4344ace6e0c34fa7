"""One contract, run against SQLite and PostgreSQL (the ``db_url`` fixture runs both)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from civicmoments.adapters.store.schema import metadata
from civicmoments.domain.events import EFFECT_DEAD_LETTERED, TIMER_FIRED
from civicmoments.domain.journeys import JourneyStatus
from civicmoments.engine.ports import BatchFailedError, BatchResult, EffectResult, Settlement, StaleJourneyError
from tests.people import known

ROW = {"type": "uk.gov.dwp.employment.job-started", "subject": "p1", "data": {"start_date": "2026-01-05"},
       "org_id": None}


def row(n: int, digest: str = "d", subject: str = "p1", **kw) -> dict:
    return {**ROW, "source": "test://s", "event_id": f"e{n}", "digest": digest, "subject": subject,
            "time": kw.pop("time"), **kw}


def test_migrations_create_exactly_the_declared_schema(app):
    with app.store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrating_twice_is_harmless(app):
    app.store.migrate()
    assert app.store.counts()["events"] == {}


def test_accept_dedupes_on_source_and_id(app, clock):
    now = clock.now()
    assert app.store.accept([row(1, time=now), row(2, time=now)], now) == ["accepted", "accepted"]
    assert app.store.accept([row(1, time=now), row(2, "other", time=now), row(3, time=now)], now) == [
        "duplicate", "conflict", "accepted"]
    assert app.store.counts()["events"] == {"pending": 3}


def test_a_repeat_inside_one_batch_is_a_duplicate(app, clock):
    now = clock.now()
    assert app.store.accept([row(1, time=now), row(1, time=now)], now) == ["accepted", "duplicate"]


def test_dispatch_hands_over_events_in_order_with_active_journeys(app, clock):
    now = clock.now()
    app.store.accept([row(n, subject=f"p{n % 2}", time=now) for n in range(6)], now)
    seen = []

    def handler(events, active):
        seen.extend(events)
        assert set(active) == {"p0", "p1"}
        return BatchResult(now, processed=[e.seq for e in events])

    assert app.store.dispatch(100, handler) == 6
    assert [e.id for e in seen] == [f"e{n}" for n in range(6)]
    assert app.store.dispatch(100, handler) == 0
    assert app.store.counts()["events"] == {"processed": 6}


def test_a_failing_handler_rolls_back_the_whole_batch_then_isolates_the_event_at_fault(app, clock):
    now = clock.now()
    app.store.accept([row(1, time=now), row(2, time=now)], now)

    def handler(events, active):
        if any(e.id == "e1" for e in events):
            raise RuntimeError("boom")
        return BatchResult(now, processed=[e.seq for e in events])

    with pytest.raises(BatchFailedError):
        app.store.dispatch(10, handler)
    assert app.store.counts()["events"] == {"pending": 2}
    assert app.store.dispatch(1, handler) == 1  # alone, the failing event is set aside...
    assert app.store.dispatch(1, handler) == 1  # ...and the next goes on
    assert app.store.counts()["events"] == {"quarantined": 1, "processed": 1}
    (q,) = app.store.quarantined()
    assert q["event_id"] == "e1" and "builtins.RuntimeError: boom" in q["error"]


def _run_back_to_work(app, clock, person="p1", n=1):
    org, _ = app.organisations.add(f"Employer {person}", ["https://e.example/*"], ["uk.gov.*"])
    known(app, person, employer=f"Employer {person}")  # only the person's employer may report it
    app.intake.submit(org, [{
        "specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": "https://e.example/hr",
        "id": f"n-{person}-{n}", "subject": person,
        "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 30, "class1_contribution_years": 2}}])
    app.worker.drain()
    (journey,) = app.store.journeys_for(person)
    return journey


def test_journey_versions_are_checked(app, clock):
    journey = _run_back_to_work(app, clock)
    stale = app.store.journey(journey.id)["journey"]
    stale.version -= 1
    app.store.accept([row(99, time=clock.now())], clock.now())
    with pytest.raises(StaleJourneyError):
        app.store.dispatch(10, lambda events, active: BatchResult(
            clock.now(), processed=[e.seq for e in events], updated_journeys=[stale]))
    assert app.store.counts()["events"]["pending"] == 1


def test_a_batch_whose_events_were_taken_meanwhile_is_written_by_no_one_twice(app, clock):
    """Whatever else handles the batch's events while it is worked out, its write is refused whole."""
    from sqlalchemy import update

    from civicmoments.adapters.store.schema import inbox

    now = clock.now()
    app.store.accept([row(1, time=now), row(2, time=now)], now)

    def meanwhile(events, active):
        with app.store.engine.begin() as conn:  # another engine's batch, committed first
            conn.execute(update(inbox).where(inbox.c.seq == events[0].seq).values(status="processed"))
        return BatchResult(now, processed=[e.seq for e in events])

    if app.store.pg:  # the batch holds its people's partitions: the other write waits, so only look
        assert app.store.dispatch(10, lambda events, active: BatchResult(
            now, processed=[e.seq for e in events])) == 2
        return
    with pytest.raises(StaleJourneyError):
        app.store.dispatch(10, meanwhile)
    assert app.store.counts()["events"] == {"processed": 1, "pending": 1}


def test_work_due_says_whether_a_round_has_anything_to_do(app, clock):
    from sqlalchemy import update

    from civicmoments.adapters.store.schema import outbox

    assert app.store.work_due(clock.now()) is False
    journey = _run_back_to_work(app, clock)
    assert app.store.work_due(clock.now()) is False  # waiting on a timer that is not due yet
    clock.advance(timedelta(days=15))
    assert app.store.work_due(clock.now()) is True  # the survey's deadline
    app.worker.drain()
    assert app.store.work_due(clock.now()) is False
    with app.store.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.journey_id == journey.id).values(status="pending"))
    assert app.store.work_due(clock.now()) is True  # effects to claim
    app.store.claim_effects(clock.now(), 100, lease_seconds=60)
    assert app.store.work_due(clock.now()) is False
    app.store.accept([row(7, time=clock.now())], clock.now())
    assert app.store.work_due(clock.now()) is True  # an event to dispatch


def test_timers_fire_once_as_inbox_events(app, clock):
    journey = _run_back_to_work(app, clock)
    assert app.store.fire_due_timers(clock.now()) == 0
    clock.advance(timedelta(days=15))
    assert app.store.fire_due_timers(clock.now()) == 1  # the survey deadline, not the 180-day objective
    assert app.store.fire_due_timers(clock.now()) == 0
    app.worker.drain()
    found = app.store.journey(journey.id)
    assert found["journey"].steps["survey"].status.value == "timed-out"
    assert any(t["kind"] == "deadline-passed" for t in found["timeline"])


def test_claimed_effects_are_leased_and_reclaimed_after_the_lease(app, clock):
    j2 = _run_back_to_work(app, clock, person="p2")
    assert j2.status is JourneyStatus.ACTIVE
    from sqlalchemy import update

    from civicmoments.adapters.store.schema import outbox

    with app.store.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.journey_id == j2.id).values(status="pending",
                                                                                attempts=0))
    first = app.store.claim_effects(clock.now(), 100, lease_seconds=60)
    assert first and all(e.journey == j2.id for e in first)
    assert app.store.claim_effects(clock.now(), 100, lease_seconds=60) == []
    clock.advance(timedelta(seconds=61))
    again = app.store.claim_effects(clock.now(), 100, lease_seconds=60)
    assert {e.key for e in again} == {e.key for e in first}
    assert all(e.attempts == 2 for e in again)


def _queue_effects(app, clock, n: int) -> list[str]:
    from civicmoments.adapters.store.schema import outbox

    now = clock.now()
    keys = [f"q{i}" for i in range(n)]
    with app.store.engine.begin() as conn:
        app.store.bulk.insert(conn, outbox, [
            {"key": k, "journey_id": "j", "person": "p1", "step": "s", "kind": "notify", "payload": {"i": i},
             "status": "pending", "attempts": 0, "max_attempts": 5, "backoff_seconds": 2,
             "next_attempt_at": now - timedelta(seconds=n - i), "created_at": now} for i, k in enumerate(keys)])
    return keys


def test_a_claim_takes_due_and_expired_effects_together_up_to_its_limit(app, clock):
    keys = _queue_effects(app, clock, 5)
    assert app.store.effects_in_hand(clock.now(), 100) == 5
    assert app.store.effects_in_hand(clock.now(), 3) == 3  # counted up to the cap
    first = app.store.claim_effects(clock.now(), 3, lease_seconds=60)
    assert [e.key for e in first] == keys[:3]  # earliest due first, returned in queue order
    assert app.store.effects_in_hand(clock.now(), 100) == 5  # 2 due, 3 in flight
    clock.advance(timedelta(seconds=61))  # the first three's lease runs out
    again = app.store.claim_effects(clock.now(), 4, lease_seconds=60)
    assert len(again) == 4 and len({e.key for e in again}) == 4
    assert [e.id for e in again] == sorted(e.id for e in again)
    rest = app.store.claim_effects(clock.now(), 4, lease_seconds=60)
    assert {e.key for e in again + rest} == set(keys) and len(rest) == 1
    assert app.store.claim_effects(clock.now(), 4, lease_seconds=60) == []
    assert app.store.effects_waiting(clock.now()) is False


def test_a_batched_value_too_long_for_its_column_is_refused_not_cut_short(app, clock):
    """PostgreSQL writes a batch from arrays: a value longer than its column must still be refused
    (SQLite keeps any length), in an insert and in an update alike."""
    from sqlalchemy.exc import DBAPIError

    from civicmoments.adapters.store.schema import outbox

    if not app.store.pg:
        pytest.skip("SQLite does not limit the length of text")
    (key,) = _queue_effects(app, clock, 1)
    with pytest.raises(DBAPIError, match="too long"), app.store.engine.begin() as conn:
        app.store.bulk.insert(conn, outbox, [{"key": "k" * 201, "journey_id": "j", "person": "p", "step": "s",
                                              "kind": "notify", "payload": {}, "status": "pending", "attempts": 0,
                                              "max_attempts": 1, "backoff_seconds": 1,
                                              "next_attempt_at": clock.now(), "created_at": clock.now()}])
    with pytest.raises(DBAPIError, match="too long"), app.store.engine.begin() as conn:
        app.store.bulk.update(conn, outbox, ("status",), ("key",), [{"status": "s" * 17, "key": key}])
    assert [e.key for e in app.store.claim_effects(clock.now(), 10, 60)] == [key]  # nothing else was written


def test_retryable_failures_back_off_then_dead_letter_with_an_event(app, clock):
    journey = _run_back_to_work(app, clock)
    from sqlalchemy import update

    from civicmoments.adapters.store.schema import outbox

    key = f"{journey.id}:notice"
    with app.store.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.key == key).values(status="pending", attempts=0,
                                                                       max_attempts=2, backoff_seconds=5))
    (e,) = [x for x in app.store.claim_effects(clock.now(), 100, 30) if x.key == key]
    app.store.settle_effects([Settlement(e, EffectResult.retry("503"), False)], clock.now())
    assert app.store.claim_effects(clock.now(), 100, 30) == []  # backing off for 5 s
    clock.advance(timedelta(seconds=5))
    (e,) = app.store.claim_effects(clock.now(), 100, 30)
    assert e.attempts == 2
    app.store.settle_effects([Settlement(e, EffectResult.retry("503 again"), False)], clock.now())
    (dead,) = [d for d in app.store.dead_letters() if d["key"] == key]
    assert dead["key"] == key and "gave up after 2 attempts: 503 again" in dead["last_error"]
    pending = [q for q in _pending_events(app) if q["type"] == EFFECT_DEAD_LETTERED]
    assert len(pending) == 1


def _pending_events(app):
    from sqlalchemy import select

    from civicmoments.adapters.store.schema import inbox

    with app.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(inbox).where(inbox.c.status == "pending"))]


def test_quarantined_events_keep_the_reason_and_can_be_replayed(app, clock):
    now = clock.now()
    app.store.accept([row(1, time=now), row(2, time=now)], now)

    def handler(events, active):
        return BatchResult(now, processed=[events[1].seq], quarantined=[(events[0].seq, "because")])

    app.store.dispatch(10, handler)
    (q,) = app.store.quarantined()
    assert (q["event_id"], q["error"]) == ("e1", "because")
    assert app.store.replay([q["seq"]]) == 1
    assert app.store.quarantined() == []
    assert app.store.counts()["events"] == {"pending": 1, "processed": 1}


def test_ending_a_journey_cancels_its_pending_effects_and_timers(app, clock):
    journey = _run_back_to_work(app, clock)
    before = app.store.counts()["timers"]
    # the survey's, the interview's and the objective's timers (a known person's journey has all three)
    assert set(before) == {"pending"} and before["pending"] >= 2
    assert app.store.request_cancel(journey.id, "moved abroad", clock.now())
    assert not app.store.request_cancel("no-such-journey", "x", clock.now())
    # Dispatch only (no effects run), so effects queued earlier are still pending if any.
    app.worker.drain()
    found = app.store.journey(journey.id)
    assert found["journey"].status is JourneyStatus.CANCELLED
    assert app.store.counts()["timers"] == {"cancelled": before["pending"]}
    assert TIMER_FIRED not in {e["type"] for e in _pending_events(app)}
