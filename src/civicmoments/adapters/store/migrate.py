"""Run Alembic migrations from code: ``civic db upgrade`` and the embedded start-up use this."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_KEY = 314159  # PostgreSQL advisory lock: one process migrates at a time
LOCK_POLL_SECONDS = 0.1


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, target: str = "head") -> None:
    """Apply every migration not yet applied, up to ``target`` (a revision id; ``"head"``: all).

    Processes starting at once (several workers and web processes) take turns: the first applies
    what is new, the others then find nothing to do. On SQLite the turn is the single writer's
    (the migrations run in one write transaction). On PostgreSQL it is a session advisory lock,
    waited for by polling from a connection outside any transaction: a migration that builds an
    index ``CONCURRENTLY`` (0025) commits what came before it and waits for every transaction
    older than its build, which a waiter blocked inside one would never end. Alembic's
    transaction then covers the migrations, except such a build.
    Raises what Alembic or the database raise; a failed migration leaves the revisions before it."""
    _run(engine, lambda cfg: command.upgrade(cfg, target))


def downgrade(engine: Engine, target: str) -> None:
    """Undo migrations down to revision ``target``, taking turns as ``upgrade`` does."""
    _run(engine, lambda cfg: command.downgrade(cfg, target))


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:  # BEGIN IMMEDIATE: the single writer's turn, for every migration
            cfg.attributes["connection"] = conn
            step(cfg)
        return
    with _turn(engine), engine.connect() as conn:
        cfg.attributes["connection"] = conn  # not in a transaction: Alembic begins and commits its own
        step(cfg)


@contextlib.contextmanager
def _turn(engine: Engine) -> Iterator[None]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
        while not lock.exec_driver_sql(f"SELECT pg_try_advisory_lock({LOCK_KEY})").scalar():
            time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_KEY})")
