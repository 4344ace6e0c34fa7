"""Migrating a PostgreSQL database that is in use: intake keeps writing while 0025 builds its
indexes, and processes starting at once take turns at the migrations."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import create_engine, text

from civicmoments.adapters.store import migrate
from civicmoments.adapters.store.migrate import upgrade
from civicmoments.adapters.store.schema import metadata

NEW = {"ix_inbox_pending_partition_seq", "ix_inbox_pending_source_seq", "ix_inbox_quarantined",
       "ix_timers_pending_due"}
OLD = {"ix_inbox_status_partition_seq", "ix_inbox_status_source_seq", "ix_timers_status_due"}


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _insert_event(conn, n: int) -> None:
    conn.execute(text(
        "INSERT INTO inbox (source, event_id, type, subject, time, data, digest, partition, received_at, status, "
        "process_count) VALUES ('test://s', :id, 'test.event', 'p1', :at, '{}', 'd', 0, :at, 'pending', 0)"),
        {"id": f"e{n}", "at": datetime(2026, 12, 1, tzinfo=timezone.utc)})


def _indexes(conn) -> dict[str, bool]:
    """``{index: valid}`` of the inbox's and the timers' indexes."""
    return dict(conn.execute(text(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN ('inbox', 'timers')")).all())


def _wait_for_build(engine, deadline_s: float = 30, alive: Callable[[], bool] = lambda: True) -> None:
    """Until a migration's index build waits on a lock; each look a transaction of its own, for
    pg_stat_activity is read once per transaction."""
    deadline = time.monotonic() + deadline_s
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
        while not watch.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE '%INDEX%' AND wait_event_type = 'Lock'")).scalar():
            assert time.monotonic() < deadline and alive(), "the migration never waited"
            time.sleep(0.05)


def test_intake_writes_while_0025_builds_its_indexes(pg_url):
    """A transaction that has read the inbox (a report being read, say) stays open through the
    migration. A plain index build or drop queues behind it for the table's exclusive lock, and
    every insert then queues behind the build: here the insert would time out. Built
    CONCURRENTLY, the build waits for that transaction while the insert goes through."""
    engine = _engine(pg_url)
    upgrade(engine, "0024")
    with engine.begin() as conn:
        _insert_event(conn, 1)
    holder = engine.connect()
    holder.execute(text("SELECT count(*) FROM inbox")).scalar()  # its transaction stays open
    failed: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - judged by the test below
            failed.append(exc)

    thread = threading.Thread(target=migrate)
    thread.start()
    try:
        _wait_for_build(engine, alive=thread.is_alive)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '3s'"))
            _insert_event(conn, 2)  # raises LockNotAvailable if intake is blocked
        assert thread.is_alive()  # the build is still under way
    finally:
        holder.rollback()
        holder.close()
        thread.join(60)
    assert not thread.is_alive() and not failed, failed
    with engine.connect() as conn:
        indexes = _indexes(conn)
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0025"
        assert conn.execute(text("SELECT count(*) FROM inbox")).scalar() == 2
    assert {name: indexes.get(name) for name in NEW} == dict.fromkeys(NEW, True)
    assert not OLD & set(indexes)
    engine.dispose()


def test_an_index_an_interrupted_build_left_invalid_is_built_again(pg_url):
    """A CONCURRENTLY build that fails leaves its index behind, marked invalid; the migration, run
    again, drops it and builds it whole."""
    engine = _engine(pg_url)
    upgrade(engine, "0024")
    with engine.begin() as conn:
        for n in (1, 2):  # two rows with one key: a unique build over them fails and stays invalid
            conn.execute(text("INSERT INTO timers (id, journey_id, person, step, due_at, status) "
                              "VALUES (:id, 'j', 'p', 's', now(), 'pending')"), {"id": f"t{n}"})
    auto = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        auto.execute(text("CREATE UNIQUE INDEX CONCURRENTLY ix_timers_pending_due ON timers (status)"))
    except Exception:  # noqa: BLE001, S110 - the failure is the point: it leaves the index invalid
        pass
    assert _indexes(auto)["ix_timers_pending_due"] is False
    auto.close()
    upgrade(engine)
    with engine.connect() as conn:
        assert _indexes(conn)["ix_timers_pending_due"] is True
        definition = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_timers_pending_due'"))
        assert "(due_at) WHERE" in definition.scalar()
    engine.dispose()


def test_processes_starting_at_once_take_turns_at_the_migrations(pg_url):
    """Four processes' worth of start-ups on one empty database: one migrates, the others wait
    their turn and find nothing left to do; none fails, and the schema is the declared one."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engines = [_engine(pg_url) for _ in range(4)]
    failed: list[BaseException] = []

    def start(engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - judged below
            failed.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failed, failed
    with engines[0].connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert conn.execute(text("SELECT pg_try_advisory_lock(314159)")).scalar()  # nobody kept the turn
    for e in engines:
        e.dispose()


class Said:
    """Stands in for a module's logger: what it was told, whatever the process's log level."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict]] = []

    def info(self, event: str, **kw) -> None:
        self.lines.append((event, kw))


def test_a_migrator_killed_mid_build_keeps_the_turn_until_its_build_ends(pg_url, monkeypatch):
    """A process killed (SIGKILL) while 0025 builds an index leaves the build running on the
    server. The next process waits for it rather than meeting it (a drop of the index under
    construction fails), then keeps the index it built and finishes the rest."""
    engine = _engine(pg_url)
    upgrade(engine, "0024")
    holder = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    holder.execute(text("SELECT count(*) FROM inbox")).scalar()  # a snapshot the build must outwait
    first = subprocess.Popen([sys.executable, "-c", (
        "import sys; from sqlalchemy import create_engine; from civicmoments.adapters.store.migrate import upgrade; "
        "upgrade(create_engine(sys.argv[1]))"), pg_url.replace("postgresql://", "postgresql+psycopg://", 1)])
    failed: list[BaseException] = []
    thread = None
    try:
        _wait_for_build(engine, alive=lambda: first.poll() is None)
        first.kill()
        first.wait(10)

        def second() -> None:
            try:
                upgrade(engine)
            except BaseException as exc:  # noqa: BLE001 - judged below
                failed.append(exc)

        said = Said()
        monkeypatch.setattr(migrate, "log", said)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive() and not failed, failed  # waiting its turn behind the orphaned build
        assert [event for event, _ in said.lines] == [
            "another process is migrating this database; waiting for its turn"]  # said once, not per look
    finally:
        holder.rollback()
        holder.close()
        if first.poll() is None:
            first.kill()
        if thread is not None:
            thread.join(60)
    assert thread is not None and not thread.is_alive() and not failed, failed
    with engine.connect() as conn:
        indexes = _indexes(conn)
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0025"
    assert {name: indexes.get(name) for name in NEW} == dict.fromkeys(NEW, True)
    assert not OLD & set(indexes)
    engine.dispose()
