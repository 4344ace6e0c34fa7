"""Creating SQLAlchemy engines: SQLite in WAL mode with one writer at a time, or PostgreSQL."""

from __future__ import annotations

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from .bulk import json_text

JSON_OPTIONS = {"json_serializer": json_text, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60}, **JSON_OPTIONS)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            # Take the write lock at the start, so two writers queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **JSON_OPTIONS)
