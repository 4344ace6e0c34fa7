"""The insights projection (facts and sums kept as journeys move) gives the same measures as the
reference (SQL per journey, summed in Python), on SQLite and PostgreSQL: over a random population,
then after every kind of change the measures read (each marked by a trigger in the writing
transaction), after a journey is deleted, and after the pack's settings change; and on PostgreSQL
writers that mark the same journeys never wait for each other, and refreshes in two processes
while journeys are written count each change once."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, update

from civicmoments.adapters.store.schema import (
    access_log,
    case_timeline,
    cases,
    consents,
    eligibility_state,
    insight_cells,
    insight_dirty,
    journeys,
    message_history,
    messages,
    outbox,
    timeline,
)
from civicmoments.domain import insights as m

from ..conftest import make_app
from .test_insights_analytics import N, populate


def both(app, call):
    """(the projection's result, the reference result) of ``call(app.insights)``."""
    ins = app.insights
    assert ins.facts is not None
    fast = call(ins)
    kept, ins.facts = ins.facts, None
    try:
        slow = call(ins)
    finally:
        ins.facts = kept
    assert (fast.pop("engine"), slow.pop("engine")) == ("projection", "sql")
    return fast, slow


def same_everywhere(app, start) -> None:
    fast, slow = both(app, lambda ins: ins.report("job-loss"))
    assert fast == slow and fast["journeys"] >= N - 1
    assert isinstance(fast["measures"]["impact"]["outcome_days_p90"], float)  # compared, not suppressed
    for group in m.GROUPS:
        fast, slow = both(app, lambda ins, g=group: ins.report("job-loss", group=g))
        assert fast == slow, group
    for version in ("v1", "unknown"):
        fast, slow = both(app, lambda ins, v=version: ins.report("job-loss", version=v))
        assert fast == slow, version
        fast, slow = both(app, lambda ins, v=version: ins.report("job-loss", version=v, group="online"))
        assert fast == slow, version
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    fast, slow = both(app, lambda ins: ins.report("job-loss", start=day + timedelta(days=10),
                                                  end=day + timedelta(days=40), group="age_band"))
    assert fast == slow and 0 < fast["journeys"] < N
    fast, slow = both(app, lambda ins: ins.report("job-loss", start=day + timedelta(days=100)))
    assert fast == slow and fast["empty"]
    fast, slow = both(app, lambda ins: ins.compare("job-loss", "v1", "v2"))
    assert fast == slow


def test_the_projection_and_the_reference_agree_before_and_after_changes(db_url, clock):
    app = make_app(db_url, clock)
    populate(app)
    start = clock.now()
    assert app.insights.facts.pending() == N + 40, "every journey written is marked"
    same_everywhere(app, start)
    assert app.insights.facts.pending() == 0

    # every kind of change the measures read, through the tables' own writes
    rng = random.Random(3)
    with app.store.reader.connect() as conn:
        js = conn.execute(select(journeys.c.id, journeys.c.person).where(journeys.c.moment == "job-loss")
                          .order_by(journeys.c.id)).all()
        ms = conn.execute(select(messages.c.id).order_by(messages.c.id)).scalars().all()
        cs = conn.execute(select(cases.c.id).order_by(cases.c.id)).scalars().all()
        ob = conn.execute(select(outbox.c.id).where(outbox.c.status == "pending")).scalars().all()
    picked = rng.sample(js, 60)
    with app.store.engine.begin() as conn:
        for jid, _person in picked[:10]:  # reached, with a new time to outcome
            conn.execute(update(journeys).where(journeys.c.id == jid).values(
                status="completed", state={"outcome": {"duration_s": rng.uniform(1, 300) * 86400,
                                                       "confirmed": {"at": start.isoformat()}}}))
        for jid, _ in picked[10:20]:
            conn.execute(insert(timeline).values(journey_id=jid, at=start, kind="step-done", step="survey",
                                                 detail={"questions": 2}))
        for mid in rng.sample(ms, 15):
            conn.execute(insert(message_history).values(message_id=mid, at=start, channel="sms",
                                                        status="delivered", detail=""))
            conn.execute(update(messages).where(messages.c.id == mid).values(status="delivered"))
        for oid in ob[:10]:
            conn.execute(update(outbox).where(outbox.c.id == oid).values(status="done"))
        for cid in rng.sample(cs, 10):
            conn.execute(update(cases).where(cases.c.id == cid).values(outcome="overturned"))
            conn.execute(insert(case_timeline).values(case_id=cid, at=start, actor="officer", action="note",
                                                      detail={}))
        for jid, person in picked[20:30]:
            conn.execute(insert(consents).values(id=f"new-{jid}", person_id=person, purpose="employment-support",
                                                 notice_version="1", state="withdrawn", at=start + timedelta(days=90),
                                                 channel="portal"))
            conn.execute(insert(cases).values(
                id=f"corr-{jid}", key=f"corr-{jid}", queue="correction", organisation="employment-department",
                person_id=person, journey_id=None, reason="x", priority="normal", status="open",
                opened_at=start + timedelta(days=90), due_at=start, version=1, data={}, tasks=[]))
        seq = conn.execute(select(func.max(access_log.c.seq))).scalar() or 0
        for k, (_jid, person) in enumerate(picked[30:40]):
            conn.execute(insert(access_log).values(seq=seq + k + 1, prev="0" * 64, hash=f"{k:064d}",
                                                   person_id=person, body={"outcome": "refused"}))
            conn.execute(delete(eligibility_state).where(eligibility_state.c.person_id == person))
            conn.execute(insert(eligibility_state).values(person_id=person, service="jsa-new-style",
                                                          eligible=True, since=start.date()))
        gone = picked[40][0]
        conn.execute(delete(journeys).where(journeys.c.id == gone))
    assert app.insights.facts.pending() >= 50
    same_everywhere(app, start)
    with app.store.reader.connect() as conn:
        assert conn.execute(select(func.count()).select_from(insight_dirty)).scalar() == 0
        cells = conn.execute(select(func.sum(insight_cells.c.journeys)).where(
            insight_cells.c.moment == "job-loss", insight_cells.c.grp == "all")).scalar()
    assert cells == N - 1, "the deleted journey left the sums"

    # the pack's settings change: every journey is recomputed with them
    ins = app.insights
    before = ins.report("job-loss")["measures"]["efficiency"]["zero_touch_rate"]
    spec = ins.settings.moments["job-loss"]
    ins.settings.moments["job-loss"] = type(spec)(spec.service, ("award", "late-award"))
    assert ins.refresh() == N + 39
    fast, slow = both(app, lambda i: i.report("job-loss"))
    assert fast == slow and fast["measures"]["efficiency"]["zero_touch_rate"] != before
    app.store.close()


def test_writes_that_do_not_change_a_measure_mark_nothing(db_url, clock):
    app = make_app(db_url, clock)
    populate(app, seed=8)
    app.insights.refresh()
    with app.store.engine.begin() as conn:
        jid = conn.execute(select(journeys.c.id).limit(1)).scalar()
        conn.execute(update(journeys).where(journeys.c.id == jid).values(updated_at=clock.now()))  # a step moved
        conn.execute(insert(timeline).values(journey_id=jid, at=clock.now(), kind="note", step=None, detail={}))
        seq = conn.execute(select(func.max(access_log.c.seq))).scalar() or 0
        conn.execute(insert(access_log).values(seq=seq + 1, prev="0" * 64, hash="1" * 64, person_id="p0001",
                                               body={"outcome": "allowed"}))
    assert app.insights.facts.pending() == 0
    app.store.close()


def test_writers_marking_the_same_journeys_never_wait_for_each_other(pg_migrated_url, clock):
    """A consent for a person marks their journeys while an engine batch moves those journeys in
    another order: neither transaction waits for the other's marks (before, each took the other's
    mark rows in turn and one of them was aborted as a deadlock)."""
    app = make_app(pg_migrated_url, clock)
    populate(app, seed=5)
    app.insights.refresh()
    with app.store.reader.connect() as conn:
        person = conn.execute(select(journeys.c.person).where(journeys.c.moment == "job-loss")
                              .group_by(journeys.c.person).having(func.count() >= 2).limit(1)).scalar_one()
        first, second = conn.execute(select(journeys.c.id).where(journeys.c.person == person)
                                     .order_by(journeys.c.id)).scalars().all()[:2]
    done = clock.now() + timedelta(days=5)
    with app.store.engine.connect() as batch, app.store.engine.connect() as portal:
        for conn in (batch, portal):
            conn.exec_driver_sql("SET lock_timeout = '5s'")  # a wait fails the test rather than hangs it
        batch.execute(update(journeys).where(journeys.c.id == second).values(status="cancelled"))
        portal.execute(insert(consents).values(id="late", person_id=person, purpose="employment-support",
                                               notice_version="1", state="withdrawn", at=done, channel="portal"))
        batch.execute(update(journeys).where(journeys.c.id == first).values(status="cancelled"))
        batch.commit()
        portal.commit()
    fast, slow = both(app, lambda ins: ins.report("job-loss"))
    assert fast == slow
    app.store.close()


def test_refreshes_in_two_processes_while_journeys_are_written_count_each_change_once(pg_migrated_url, clock):
    """Two refreshes loop while engine batches and sweeps write (each writer on people of its own,
    as the engine's partitions are): no write fails, none is lost or counted twice."""
    app = make_app(pg_migrated_url, clock)
    populate(app, seed=6)
    app.insights.refresh()
    other = make_app(pg_migrated_url, clock)
    with app.store.reader.connect() as conn:
        js = conn.execute(select(journeys.c.id, journeys.c.person).order_by(journeys.c.id)).all()
    start = clock.now()
    errors: list[str] = []
    writing = threading.Event()
    writing.set()

    def engine_batches(part: int) -> None:
        rng = random.Random(part)
        mine = [j for j in js if int(j.person[1:]) % 2 == part]
        for _ in range(25):
            picked = rng.sample(mine, 30)
            try:
                with app.store.engine.begin() as conn:
                    for jid, _ in picked:
                        conn.execute(update(journeys).where(journeys.c.id == jid).values(
                            status="completed", state={"outcome": {
                                "duration_s": rng.uniform(1, 300) * 86400, "confirmed": {"at": start.isoformat()}}}))
                        conn.execute(insert(timeline).values(journey_id=jid, at=start, kind="step-done",
                                                             step="survey", detail={"questions": 1}))
            except Exception as exc:  # noqa: BLE001 - collected and asserted on
                errors.append(f"batch: {type(exc).__name__}: {exc}")

    def sweeps(part: int) -> None:
        rng = random.Random(10 + part)
        people = sorted({p for _, p in js if int(p[1:]) % 2 == part})
        for k in range(25):
            some = rng.sample(people, 40)
            try:
                with app.store.engine.begin() as conn:
                    for p in some[:5]:
                        conn.execute(insert(consents).values(
                            id=f"s{part}-{k}-{p}", person_id=p, purpose="employment-support", notice_version="1",
                            state="given", at=start + timedelta(days=90), channel="portal"))
                app.registry.store.set_eligibility_states([
                    {"person_id": p, "service": "jsa-new-style", "eligible": rng.random() < 0.5,
                     "since": start.date()} for p in some])
            except Exception as exc:  # noqa: BLE001 - collected and asserted on
                errors.append(f"sweep: {type(exc).__name__}: {exc}")

    def refreshes(which) -> None:
        while writing.is_set():
            try:
                which.insights.refresh()
            except Exception as exc:  # noqa: BLE001 - collected and asserted on
                errors.append(f"refresh: {type(exc).__name__}: {exc}")

    writers = [threading.Thread(target=f, args=(part,)) for f in (engine_batches, sweeps) for part in (0, 1)]
    readers = [threading.Thread(target=refreshes, args=(which,)) for which in (app, other)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    writing.clear()
    for t in readers:
        t.join()
    assert errors == []
    fast, slow = both(app, lambda ins: ins.report("job-loss"))
    assert fast == slow
    fast, slow = both(app, lambda ins: ins.report("job-loss", group="region"))
    assert fast == slow
    with app.store.reader.connect() as conn:
        cells = conn.execute(select(func.sum(insight_cells.c.journeys)).where(
            insight_cells.c.moment == "job-loss", insight_cells.c.grp == "all")).scalar()
    assert cells == N
    other.store.close()
    app.store.close()


def test_a_refresh_meeting_another_that_is_recording_new_settings_does_not_fail(pg_migrated_url, clock):
    """After the pack's settings change, two processes may see it at once: the one that records
    the new settings second writes the same row rather than failing on its key."""
    from civicmoments.adapters.store.schema import insight_state

    app = make_app(pg_migrated_url, clock)
    populate(app, seed=7)
    app.insights.refresh()
    with app.store.engine.begin() as conn:
        digest = conn.execute(select(insight_state.c.settings)).scalar_one()
        conn.execute(update(insight_state).values(settings="before"))
    failed: list[BaseException] = []

    def refresh() -> None:
        try:
            app.insights.refresh()
        except Exception as exc:  # noqa: BLE001 - asserted on below
            failed.append(exc)

    with app.store.engine.connect() as other:  # the other process, recording the settings it found
        other.execute(delete(insight_state))
        other.execute(insert(insight_state).values(id=1, settings=digest))
        second = threading.Thread(target=refresh)
        second.start()
        second.join(0.5)  # it waits for the other's row, or has already failed
        other.commit()
    second.join()
    assert failed == []
    fast, slow = both(app, lambda ins: ins.report("job-loss"))
    assert fast == slow
    app.store.close()


def test_banding_new_journeys_leaves_nothing_to_refresh(db_url, clock):
    """A refresh bands the journeys it has not banded yet; the bands it writes mark those
    journeys, and those marks are cleared with the rest, not left for the next refresh."""
    from civicmoments.adapters.store.schema import journey_groups

    app = make_app(db_url, clock)
    populate(app, seed=9)
    with app.store.engine.begin() as conn:
        conn.execute(delete(journey_groups).where(journey_groups.c.journey_id < "j0100"))
    assert app.insights.refresh() == N + 40
    assert app.insights.facts.pending() == 0
    assert app.insights.refresh() == 0
    fast, slow = both(app, lambda ins: ins.report("job-loss", group="age_band"))
    assert fast == slow
    app.store.close()
