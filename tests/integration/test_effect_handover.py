"""A dispatched batch hands the effects it queues straight to the worker that dispatched it: they
are written in flight under a lease and performed in the same round, with no claim of their own.
Nothing is lost if that worker stops first, a key already queued is never handed over twice, and
an effect of a journey the batch ends stays behind to be cancelled."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from civicmoments.adapters.store.schema import outbox
from civicmoments.domain.journeys import PerformEffect, StartTimer
from civicmoments.engine.ports import BatchResult, Handover

from .test_engine_flow import job_ended, orgs  # noqa: F401 - orgs is a fixture
from .test_engine_index_paths import statements_during


def pending_event(app, person: str) -> None:
    app.store.publish("civic.test.nudged", person, {}, app.clock.now())


def rows(app, *keys):
    with app.store.reader.connect() as conn:
        q = select(outbox.c.key, outbox.c.status, outbox.c.attempts, outbox.c.lease_until)
        if keys:
            q = q.where(outbox.c.key.in_(keys))
        return {r.key: r for r in conn.execute(q)}


def effect(key: str, person: str = "p1") -> PerformEffect:
    return PerformEffect(key=key, journey="j-" + person, person=person, step=key.split(":")[-1], kind="record",
                         payload={"spec": {}, "n": 1}, max_attempts=3, backoff_seconds=1.0)


def queue(app, person: str, *keys: str, handover: Handover | None = None) -> int:
    """Dispatch one pending event of ``person`` with a handler that queues effects ``keys``."""
    pending_event(app, person)

    def handler(events, _active):
        return BatchResult(app.clock.now(), processed=[e.seq for e in events], effects=[effect(k, person) for k in keys])

    return app.store.dispatch(10, handler, handover=handover)


def test_one_round_performs_the_effects_its_batch_queued_without_claiming_them(app, orgs):  # noqa: F811
    employer, _ = orgs
    app.intake.submit(employer, [job_ended("ana", "h1")])
    ran = statements_during(app.store.engine, app.worker.run_once)
    queued = rows(app)
    assert queued, "the redundancy's first batch queued effects"
    assert {(r.status, r.attempts, r.lease_until) for r in queued.values()} == {("done", 1, None)}
    claims = [s for s, _, _ in ran if s.lstrip().upper().startswith("UPDATE OUTBOX") and "RETURNING" in s.upper()]
    assert claims == [], "the effects were handed over, not claimed"


def test_effects_handed_to_a_worker_that_stops_are_claimed_once_their_lease_runs_out(app):
    handover = Handover(up_to=10, lease_seconds=30, now=app.clock.now)
    assert queue(app, "p1", "j-p1:a", "j-p1:b", handover=handover) == 1
    assert [e.key for e in handover.effects] == ["j-p1:a", "j-p1:b"]
    assert {e.attempts for e in handover.effects} == {1}
    assert handover.effects[0].payload == {"spec": {}, "n": 1}  # as stored, as a claim would read it
    # The worker stops here, before performing them: they wait in flight under its lease.
    before = rows(app)
    assert {r.status for r in before.values()} == {"inflight"}
    assert app.effects.run_once() == 0, "another worker leaves them while the lease holds"
    app.clock.advance(timedelta(seconds=31))
    assert app.effects.run_once() == 2
    after = rows(app)
    assert {(r.status, r.attempts) for r in after.values()} == {("done", 2)}


def test_only_the_first_up_to_effects_are_handed_over_the_rest_wait_for_any_worker(app):
    handover = Handover(up_to=2, lease_seconds=30, now=app.clock.now)
    queue(app, "p1", "j-p1:a", "j-p1:b", "j-p1:c", handover=handover)
    assert [e.key for e in handover.effects] == ["j-p1:a", "j-p1:b"]
    assert {k: r.status for k, r in rows(app).items()} == {"j-p1:a": "inflight", "j-p1:b": "inflight",
                                                          "j-p1:c": "pending"}
    assert app.effects.run_once(handover.effects) == 3  # what it was handed, and what waits
    assert {r.status for r in rows(app).values()} == {"done"}


def test_a_key_already_queued_is_not_handed_over_again(app):
    first = Handover(up_to=10, lease_seconds=30, now=app.clock.now)
    queue(app, "p1", "j-p1:a", handover=first)
    app.effects.run_once(first.effects)
    assert rows(app)["j-p1:a"].status == "done"
    again = Handover(up_to=10, lease_seconds=30, now=app.clock.now)
    # The same key twice in one batch, and one already done: only the new key is handed, once.
    queue(app, "p1", "j-p1:a", "j-p1:b", "j-p1:b", handover=again)
    assert [e.key for e in again.effects] == ["j-p1:b"]
    assert (rows(app)["j-p1:a"].status, rows(app)["j-p1:a"].attempts) == ("done", 1)


def test_nothing_is_handed_over_when_the_batch_rolls_back(app):
    handover = Handover(up_to=10, lease_seconds=30, now=app.clock.now)
    pending_event(app, "p1")

    def handler(events, _active):  # the effects are written first, then a timer the database refuses
        return BatchResult(app.clock.now(), processed=[e.seq for e in events], effects=[effect("j-p1:a")],
                           timers=[StartTimer("t1", "j-p1", "p1", "wait", None)])

    assert app.store.dispatch(10, handler, handover=handover) == 1  # a batch of one: its event is quarantined
    assert handover.effects == []
    assert rows(app) == {}
    assert [q["event_id"] for q in app.store.quarantined()][0].startswith("civic.test.nudged")


def test_effects_already_due_are_not_starved_by_the_effects_each_round_queues(app):
    """A retry that came due waits for no new work: beside what its own batch hands over, every
    round claims up to half a batch of the effects already due, earliest first."""
    size = app.effects.batch_size
    app.store.claim_partitions = app.store.partition_count  # on PostgreSQL, one batch takes everyone
    queue(app, "old", "j-old:a", handover=None)  # due, waiting to be claimed (a retry come due, say)

    def handler(events, _active):  # an effect for each nudge; the effects' own results end there
        return BatchResult(app.clock.now(), processed=[e.seq for e in events],
                           effects=[effect(f"j-{e.subject}:a", e.subject) for e in events
                                    if e.type == "civic.test.nudged"])

    for n in range(3):  # each round's batch queues more than a full effect batch of its own
        for i in range(size + 10):
            app.store.publish("civic.test.nudged", f"p{n}-{i}", {}, app.clock.now())
        handover = app.effects.handover()
        while app.store.dispatch(10 * size, handler, handover=handover):
            pass
        assert len(handover.effects) == size
        performed = app.effects.run_once(handover.effects)
        assert performed == size + (11 if n == 0 else 10), "what was handed over, and what waited"
        if n == 0:
            assert rows(app, "j-old:a")["j-old:a"].status == "done", "the effect already due went in the first round"
    assert {r.status for r in rows(app).values()} == {"done"}


def test_the_lease_of_effects_handed_over_runs_from_when_they_are_written(app):
    """A batch worked out and then kept waiting for the write turn does not hand over effects whose
    lease has already run down: the lease starts as the rows are written."""
    written_at = app.clock.now() + timedelta(seconds=20)
    handover = Handover(up_to=10, lease_seconds=30, now=lambda: written_at)
    queue(app, "p1", "j-p1:a", handover=handover)
    lease = rows(app, "j-p1:a")["j-p1:a"].lease_until
    assert lease.replace(tzinfo=None) == (written_at + timedelta(seconds=30)).replace(tzinfo=None)


def test_unindexed_refuses_a_column_with_no_neutral_value():
    import pytest
    from sqlalchemy import Boolean, Column, MetaData, Table

    from civicmoments.adapters.store.paths import unindexed

    flags = Table("flags", MetaData(), Column("on", Boolean))
    with pytest.raises(TypeError, match="text or number"):
        unindexed(flags.c.on)
