"""Run Alembic migrations from code: ``civic db upgrade`` and the embedded start-up use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied. On PostgreSQL, processes starting at once (several
    workers and web processes) take turns under an advisory lock held to the end of the
    transaction: the first applies what is new, the others then find nothing to do."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(314159)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
