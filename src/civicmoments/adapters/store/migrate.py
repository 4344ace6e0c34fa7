"""Run Alembic migrations from code: ``civic db upgrade`` and the embedded start-up use this."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from ...logs import get

log = get("civic.migrate")
MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_KEY = 314159  # PostgreSQL advisory lock: one process migrates at a time
LOCK_POLL_SECONDS = 0.1
WAIT_REPORT_SECONDS = 30.0  # while waiting for another process's migrations, say so this often


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, target: str = "head") -> None:
    """Apply every migration not yet applied, up to ``target`` (a revision id; ``"head"``: all).

    Processes starting at once (several workers and web processes) take turns: the first applies
    what is new, the others then find nothing to do.
    - SQLite: the migrations run in one transaction of ``engine`` (all or none); the store's
      writer engine begins it with ``BEGIN IMMEDIATE``, which is the turn (``make_engines``).
    - PostgreSQL: each migration runs in a transaction of its own, so a failure leaves those
      before it applied. The turn is a session advisory lock, held by the connection that
      migrates and waited for by polling, a short transaction per look: a migration that builds
      an index ``CONCURRENTLY`` (0025) waits for every transaction older than its build, and a
      waiter sitting in one would wait for it in turn, for ever. Held by the migrating
      connection, the turn outlives a process killed mid-build until the server ends that build.
      A process of a release before this one waits for the lock inside a transaction: stop those
      before upgrading a database to 0025.
    Raises what Alembic or the database raise."""
    _run(engine, lambda cfg: command.upgrade(cfg, target))


def downgrade(engine: Engine, target: str) -> None:
    """Undo migrations down to revision ``target``, taking turns as ``upgrade`` does."""
    _run(engine, lambda cfg: command.downgrade(cfg, target))


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg)
        return
    with engine.connect() as conn, _turn(conn):
        cfg.attributes["connection"] = conn  # not in a transaction: Alembic begins and commits its own
        step(cfg)


@contextlib.contextmanager
def _turn(conn: Connection) -> Iterator[None]:
    began = reported = None
    while True:
        taken = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LOCK_KEY})").scalar()
        conn.commit()  # a session lock outlives the transaction; no look stays open while waiting
        if taken:
            break
        now = time.monotonic()
        began = began or now
        if reported is None or now - reported >= WAIT_REPORT_SECONDS:  # a long index build: say why
            log.info("another process is migrating this database; waiting for its turn",
                     waited_s=round(now - began, 1))
            reported = now
        time.sleep(LOCK_POLL_SECONDS)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the migration's own error is the one to see
            _release(conn)
        raise
    _release(conn)


def _release(conn: Connection) -> None:
    if conn.in_transaction():  # a migration that failed inside its transaction
        conn.rollback()
    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_KEY})")
    conn.commit()
