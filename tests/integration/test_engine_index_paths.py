"""The engine finds a batch's rows by their keys: never by walking every row of a status, and never
by reading a whole table, however large the queue or the table has grown."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import event

from civicmoments.adapters.store.cases import CaseStore
from civicmoments.adapters.store.operations import OperationsStore
from civicmoments.adapters.store.payments import PaymentStore
from civicmoments.adapters.store.schema import inbox, journeys, outbox, subscription_deliveries, timers
from civicmoments.adapters.store.subscriptions import SubscriptionStore

from ..conftest import make_app
from .test_engine_flow import dispatch_only, job_ended, orgs  # noqa: F401 - orgs is a fixture

BENCH_PACK = Path(__file__).resolve().parents[2] / "bench" / "pack"

NOW = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)


def statements_during(engine, action) -> list[tuple[str, object, str | None]]:
    """Every statement ``engine`` ran once (not as a batch of rows) while ``action()`` ran, with its
    parameters and, on PostgreSQL, whether sequential scans were allowed when it ran."""
    seen: list[tuple[str, object, str | None]] = []

    def keep(conn, _cursor, statement, parameters, _context, executemany) -> None:
        if executemany:
            return
        setting = None
        if conn.dialect.name == "postgresql":
            setting = conn.connection.dbapi_connection.execute("SHOW enable_seqscan").fetchone()[0]
        seen.append((statement, parameters, setting))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return seen


def plan(store, statement: str, parameters, seqscan: str | None = None) -> str:
    """The database's plan for ``statement`` with ``parameters`` (on PostgreSQL with sequential scans
    as they were when it ran), as one line of text."""
    with store.reader.connect() as conn:
        if store.pg:
            conn.exec_driver_sql(f"SET LOCAL enable_seqscan = {seqscan or 'on'}")
            return " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        return " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))


def crowd_the_queue(app, n: int = 5000) -> None:
    """``n`` pending effects and timers of other journeys, as when a large report is waiting; on
    PostgreSQL without statistics (no ANALYZE), as a table is before autovacuum first reaches it."""
    bulk = app.store.bulk
    with app.store.engine.begin() as conn:
        bulk.insert(conn, outbox, [
            {"key": f"other-{i}:step", "journey_id": f"other-{i}", "person": f"other-{i}", "step": "step",
             "kind": "notify", "payload": {}, "status": "pending", "attempts": 0, "max_attempts": 5,
             "backoff_seconds": 2, "next_attempt_at": NOW, "created_at": NOW} for i in range(n)])
        bulk.insert(conn, timers, [
            {"id": f"other-{i}:t", "journey_id": f"other-{i}", "person": f"other-{i}", "step": "wait",
             "due_at": NOW, "status": "pending"} for i in range(n)])


def test_ending_a_journey_finds_its_effects_and_timers_by_journey_not_by_status(app, orgs):  # noqa: F811
    """When a journey ends, its pending effects and timers are cancelled, and each batch checks that
    its events are still pending. Each of these looks names a few rows (by journey, by sequence
    number) and a status: it must follow the key, not walk every pending effect, timer or event."""
    employer, _ = orgs
    crowd_the_queue(app)
    app.intake.submit(employer, [job_ended("ben", "n3")])
    dispatch_only(app)
    (j,) = app.store.journeys_for("ben")
    assert app.store.request_cancel(j.id, "moved abroad", app.clock.now())
    ran = statements_during(app.store.engine, lambda: dispatch_only(app))
    looks = {
        "effects": [s for s in ran if re.match(r"UPDATE outbox .*journey_id IN", s[0], re.S)],
        "timers": [s for s in ran if re.match(r"UPDATE timers .*journey_id IN", s[0], re.S)],
    }
    if not app.store.pg:  # the batch's check that its events are still pending (SQLite's write turn)
        looks["events"] = [s for s in ran if re.match(r"SELECT count\(\*\).*FROM inbox.*seq IN", s[0], re.S)]
    assert all(looks.values()), {k: len(v) for k, v in looks.items()}
    for name, found in looks.items():
        for statement, parameters, seqscan in found:
            how = plan(app.store, statement, parameters, seqscan)
            assert not re.search(r"ix_(outbox|timers|inbox)_status", how), (name, how)
    plans = {name: plan(app.store, *found[0]) for name, found in looks.items()}
    assert "ix_outbox_journey" in plans["effects"]
    assert "ix_timers_journey" in plans["timers"]
    if "events" in plans:
        assert "PRIMARY KEY" in plans["events"]
    (j,) = app.store.journeys_for("ben")
    assert j.status.value == "cancelled"
    assert app.store.counts()["effects"] == {"cancelled": 1, "pending": 5000}


def test_two_hundred_journeys_ended_in_one_batch_are_found_by_journey(db_url, clock):
    """A batch that ends many journeys at once (a death, an objective reached, a report withdrawn)
    cancels their pending effects and timers through the journey index, on both databases
    (PostgreSQL's planner read the whole effect queue from about 50 journeys on)."""
    app = make_app(db_url, clock, pack=BENCH_PACK)
    try:
        crowd_the_queue(app)
        sender, _ = app.organisations.add("Bench", ["bench://load"], ["bench.*"])
        app.intake.submit(sender, [{"specversion": "1.0", "type": "bench.case.opened", "source": "bench://load",
                                    "id": f"t{i}", "subject": f"p{i}", "data": {"n": i}} for i in range(200)])
        dispatch_only(app)
        started = [j for i in range(200) for j in app.store.journeys_for(f"p{i}")]
        assert len(started) == 200
        for j in started:
            assert app.store.request_cancel(j.id, "withdrawn", clock.now())
        ran = statements_during(app.store.engine, lambda: dispatch_only(app))
        cancels = [s for s in ran if re.match(r"UPDATE (outbox|timers) .*journey_id IN", s[0], re.S)]
        assert {re.match(r"UPDATE (\w+)", s[0]).group(1) for s in cancels} == {"outbox", "timers"}
        for statement, parameters, seqscan in cancels:
            how = plan(app.store, statement, parameters, seqscan)
            assert re.search(r"ix_(outbox|timers)_journey", how), how
            assert not re.search(r"Seq Scan|ix_(outbox|timers)_status", how), how
        assert app.store.counts()["effects"] == {"cancelled": 200, "pending": 5000}
    finally:
        app.store.close()


def test_looks_by_key_elsewhere_follow_the_key_not_the_status(db_url, clock):
    """The same kind of look outside the engine: a person's last resolved case in a queue, payments
    moved by their numbers, and subscription deliveries leased by id."""
    app = make_app(db_url, clock)
    try:
        store = app.store
        cases, payments = CaseStore(store.engine, store.reader, store._engine_events), PaymentStore(store.engine,
                                                                                                     store.reader)
        subs = SubscriptionStore(store.engine, store.reader)
        with store.engine.begin() as conn:
            store.bulk.insert(conn, subscription_deliveries, [
                {"subscription_id": "s", "event_seq": i, "status": "pending", "attempts": 0, "due_at": NOW}
                for i in range(1, 4)])
        looks = {
            "case": (lambda: cases.latest_resolved("p1", "job-matching"), r"FROM cases", "ix_cases_person"),
            "payments": (lambda: payments.set_status([1, 2, 3], "held", NOW, expect=["scheduled"]),
                         r"UPDATE payments", r"PRIMARY KEY|payments_pkey"),
            "lease": (lambda: subs.lease(NOW, 10), r"UPDATE subscription_deliveries",
                      r"PRIMARY KEY|subscription_deliveries_pkey"),
        }
        for name, (action, pattern, index) in looks.items():
            found = [s for s in statements_during(store.engine, action) + statements_during(store.reader, action)
                     if re.search(pattern, s[0])]
            assert found, name
            for statement, parameters, seqscan in found:
                how = plan(store, statement, parameters, seqscan)
                assert not re.search(r"ix_\w*_(status|due)\w*|Seq Scan", how), (name, how)
                assert re.search(index, how), (name, how)
    finally:
        app.store.close()


@pytest.fixture
def filled(pg_migrated_url):
    """A PostgreSQL store with 20,000 journeys and their effects written in bulk and never analysed."""
    from civicmoments.adapters.store.engine import make_engines
    from civicmoments.adapters.store.sql import SqlStore

    writer, _ = make_engines(pg_migrated_url, 16)
    store = SqlStore(writer)
    with writer.begin() as conn:
        store.bulk.insert(conn, journeys, [
            {"id": f"j{i}", "moment": "m", "person": f"p{i}", "status": "active", "version": 1, "started_at": NOW,
             "updated_at": NOW, "state": {"steps": {}, "n": i}} for i in range(20_000)])
        store.bulk.insert(conn, outbox, [
            {"key": f"j{i}:a", "journey_id": f"j{i}", "person": f"p{i}", "step": "a", "kind": "notify",
             "payload": {}, "status": "inflight", "attempts": 1, "max_attempts": 5, "backoff_seconds": 2,
             "next_attempt_at": NOW, "created_at": NOW} for i in range(20_000)])
        store.bulk.insert(conn, inbox, [
            {"source": "https://e.example/hr", "event_id": f"e{i}", "type": "t", "subject": f"p{i}",
             "partition": i % 64, "time": NOW, "data": {"n": i}, "digest": f"d{i}", "received_at": NOW,
             "status": "processed", "process_count": 1} for i in range(20_000)])
    yield store
    store.close()


def scans(conn, table: str) -> tuple[int, int]:
    """(sequential scans, index scans) of ``table`` in this transaction so far."""
    return tuple(conn.exec_driver_sql(
        "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relname = %s", (table,)).one())


@pytest.mark.parametrize("seqscan", ["on", "off"])
def test_a_batch_update_on_postgresql_finds_its_rows_by_key_without_reading_the_table(filled, seqscan):
    """Journeys moved on (by id and version) and effects settled (by id), 200 of 20,000, through the
    index: joined to ``unnest`` alone, the planner read the whole table into a hash for every batch.
    The transaction's own setting for sequential scans is as it was afterwards."""
    store = filled
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"SET LOCAL enable_seqscan = {seqscan}")
        moved = store.bulk.update(conn, journeys, ("status", "state", "updated_at"), ("id", "version"),
                                  [{"status": "active", "state": {"steps": {}, "moved": True}, "updated_at": NOW,
                                    "id": f"j{i}", "version": 1} for i in range(5000, 5200)],
                                  extra_set='"version" = "version" + 1')
        settled = store.bulk.update(conn, outbox, ("done_at",), ("id",),
                                    [{"done_at": NOW, "id": i} for i in range(7001, 7201)],
                                    extra_where="\"status\" = 'inflight'", extra_set="\"status\" = 'done'")
        assert (moved, settled) == (200, 200)
        assert scans(conn, "journeys")[0] == 0 and scans(conn, "journeys")[1] >= 1
        assert scans(conn, "outbox")[0] == 0 and scans(conn, "outbox")[1] >= 1
        assert conn.exec_driver_sql("SELECT current_setting('enable_seqscan')").scalar() == seqscan
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM journeys WHERE version = 2").scalar() == 200
        assert conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE status = 'done'").scalar() == 200


def test_intake_on_postgresql_looks_for_repeats_by_key_without_reading_the_inbox(filled):
    """Intake looks for each event of a batch among those already received (a repeat, or a
    conflicting one): through the unique index, not by reading every event ever received."""
    store = filled
    keys = [("https://e.example/hr", f"e{i}") for i in range(100, 300, 2)] + [("https://e.example/hr", "new")]
    with store.engine.begin() as conn:
        found = store.digests_of(conn, keys)
        assert scans(conn, "inbox")[0] == 0 and scans(conn, "inbox")[1] >= 1
        assert conn.exec_driver_sql("SELECT current_setting('enable_seqscan')").scalar() == "on"
    assert found == {("https://e.example/hr", f"e{i}"): f"d{i}" for i in range(100, 300, 2)}


def test_sequential_scans_are_as_they_were_after_a_block_that_raises(filled):
    """An error raised in a ``by_key`` block, and handled inside the transaction, leaves sequential
    scans as they were for the rest of it."""
    from civicmoments.adapters.store.paths import by_key

    with filled.engine.begin() as conn:
        with pytest.raises(RuntimeError), by_key(conn):
            assert conn.exec_driver_sql("SELECT current_setting('enable_seqscan')").scalar() == "off"
            raise RuntimeError("a value the caller refuses")
        assert conn.exec_driver_sql("SELECT current_setting('enable_seqscan')").scalar() == "on"


def test_a_dispatched_batch_on_postgresql_reads_its_events_by_person_not_by_partition(filled):
    """A worker's batch reads its people's pending events among the partitions it has locked: through
    the subject index, with the partitions as a filter. By the partitions' index it read every event
    ever received in them (an eighth of the inbox with 8 of 64 locked), however few were pending:
    without statistics, the planner takes a batch's 200 people for more rows than 8 partitions."""
    from civicmoments.adapters.store.paths import keyed_transaction

    store = filled
    parts = list(range(8))
    people = [f"p{i}" for i in range(20_000) if i % 64 in parts][:200]
    with store.engine.begin() as conn:
        store.bulk.insert(conn, inbox, [
            {"source": "https://e.example/hr", "event_id": f"n{i}", "type": "t", "subject": p,
             "partition": int(p[1:]) % 64, "time": NOW, "data": {}, "digest": "-", "received_at": NOW,
             "status": "pending", "process_count": 0} for i, p in enumerate(people)])

    def take() -> None:
        with store.engine.begin() as conn:
            keyed_transaction(conn)
            rows = conn.execute(store._read("events", "parts"), {"parts": parts, "people": people, "limit": 200}).all()
            assert sorted(r.subject for r in rows) == sorted(people)

    ran = statements_during(store.engine, take)
    (read, values, seqscan) = next(s for s in ran if "ORDER BY inbox.seq" in s[0] and "inbox.data" in s[0])
    shown = plan(store, read, values, seqscan)
    assert "ix_inbox_subject" in shown, shown
    assert "ix_inbox_pending_partition_seq" not in shown, shown


def test_unindexed_refuses_a_column_with_no_neutral_value():
    """A text column is filled with '', a number with -1; a flag or a date has no such value."""
    from sqlalchemy import Boolean, Column, Date, MetaData, Table

    from civicmoments.adapters.store.paths import unindexed

    table = Table("t", MetaData(), Column("on", Boolean), Column("day", Date))
    for column in (table.c.on, table.c.day):
        with pytest.raises(TypeError, match="text or number"):
            unindexed(column)
    assert "coalesce(inbox.partition" in str(unindexed(inbox.c.partition)).lower()


def generic_plan(store, statement: str, parameters: dict) -> str:
    """PostgreSQL's plan for ``statement`` prepared on the server and planned once for any values of
    its parameters, as psycopg's prepared statements may be (after their fifth run)."""
    names: list[str] = []

    def number(m: re.Match) -> str:
        if m[1] not in names:
            names.append(m[1])
        return f"${names.index(m[1]) + 1}"

    from psycopg import sql as psycopg_sql

    numbered = re.sub(r"%\((\w+)\)s", number, statement)
    with store.reader.connect() as conn:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql(f"PREPARE queue_look AS {numbered}")
        raw = conn.connection.dbapi_connection
        values = ", ".join(psycopg_sql.Literal(parameters[n]).as_string(raw) for n in names)
        try:
            return " ".join(r[0] for r in raw.execute(f"EXPLAIN EXECUTE queue_look({values})" if names
                                                      else "EXPLAIN EXECUTE queue_look"))
        finally:
            raw.execute("DEALLOCATE queue_look")


def test_the_queues_indexes_hold_only_what_waits_and_the_looks_for_work_use_them(db_url, clock):
    """The inbox's queue and the timers' index are partial (``status = 'pending'``): an event
    processed, a timer cancelled, leaves them, so they stay the size of what waits however long the
    history grows. The looks for work (any event or timer due, the dispatcher's two lanes) name the
    status in their text, so they use these indexes; on PostgreSQL even as a statement prepared once
    for any values of its parameters, which could not use them if the status were one."""
    app = make_app(db_url, clock, pack=BENCH_PACK)
    try:
        store = app.store
        sender, _ = app.organisations.add("Bench", ["bench://load"], ["bench.*"])
        app.intake.submit(sender, [{"specversion": "1.0", "type": "bench.case.opened", "source": "bench://load",
                                    "id": f"t{i}", "subject": f"p{i}", "data": {"n": i}} for i in range(300)])
        while dispatch_only(app):
            pass
        with store.engine.begin() as conn:  # the history: timers long cancelled
            store.bulk.insert(conn, timers, [
                {"id": f"old-{i}:t", "journey_id": f"old-{i}", "person": f"old-{i}", "step": "wait",
                 "due_at": NOW, "status": "cancelled"} for i in range(3000)])
        app.intake.submit(sender, [{"specversion": "1.0", "type": "bench.case.opened", "source": "bench://load",
                                    "id": "late", "subject": "late", "data": {"n": 1}}])
        with store.reader.connect() as conn:  # as the migrations made them
            for index, table in (("ix_inbox_pending_partition_seq", "inbox"), ("ix_inbox_pending_source_seq", "inbox"),
                                 ("ix_timers_pending_due", "timers")):
                made = conn.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = %s" if store.pg else
                    "SELECT sql FROM sqlite_master WHERE name = ?", (index,)).scalar()
                assert re.search(rf"ON (public\.)?{table}\b.*WHERE \(?\(?status\)?(::text)? = 'pending'", made), made
        looks = [s for s in statements_during(store.reader, lambda: store.work_due(NOW))
                 + statements_during(store.reader, lambda: dispatch_only(app))
                 if re.match(r"\s*(WITH|SELECT)", s[0]) and re.search(r"FROM (inbox|timers)", s[0])
                 and "inbox.data" not in s[0]]
        assert len(looks) >= 3, looks
        for statement, parameters, seqscan in looks:
            assert "'pending'" in statement, statement
            wanted = [w for table, w in (("inbox", r"ix_inbox_pending_(partition|source)_seq"),
                                         ("timers", "ix_timers_pending_due")) if f"FROM {table}" in statement]
            for shown in [plan(store, statement, parameters, seqscan)] + (
                    [generic_plan(store, statement, parameters)] if store.pg else []):
                for index in wanted:
                    assert re.search(index, shown), shown
        assert [j.person for j in store.journeys_for("late")] == ["late"]
        # The same for what /metrics counts at every scrape, and the look for events that cannot be
        # read back (oldest pending first): through the partial indexes, never along the whole inbox.
        counts = [s for s in statements_during(store.reader, lambda: OperationsStore(store.reader).snapshot(NOW))
                  + statements_during(store.reader, lambda: store._isolate_unloadable(100))
                  if re.search(r"FROM inbox", s[0])]
        assert len(counts) >= 3, counts
        for statement, parameters, seqscan in counts:
            shown = plan(store, statement, parameters, seqscan)
            assert re.search(r"ix_inbox_(pending_\w+_seq|quarantined)", shown), shown
    finally:
        app.store.close()
