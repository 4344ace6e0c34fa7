"""Creating SQLAlchemy engines: SQLite in WAL mode with one writer at a time, or PostgreSQL.

On SQLite there are two engines on one file. Writes start with ``BEGIN IMMEDIATE`` and,
within a process, queue on a lock, so threads wait their turn instead of sleeping in
SQLite's busy handler. Reads start a plain deferred transaction and never wait for writers.
"""

from __future__ import annotations

import threading

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from .bulk import json_text


def _json_value(raw):
    # SQLite gives JSON columns numeric affinity, so a stored 10 comes back as the integer 10.
    return orjson.loads(raw) if isinstance(raw, str | bytes) else raw


# Errors never carry the statement's values: they would put people's data in the logs.
JSON_OPTIONS = {"json_serializer": json_text, "json_deserializer": _json_value, "hide_parameters": True}
_WRITE_LOCKS: dict[str, threading.Lock] = {}


def _sqlite(url: str, begin: str, lock: threading.Lock | None, cache_mib: int) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 60}, **JSON_OPTIONS)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute(f"PRAGMA cache_size={-1024 * int(cache_mib)}")  # negative: in KiB
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        if lock is not None:
            lock.acquire()
            conn.info["civic_write_lock"] = True
        try:
            conn.exec_driver_sql(begin)
        except Exception:
            _release(conn)
            raise

    def _release(conn) -> None:
        if conn.info.pop("civic_write_lock", False):
            lock.release()

    if lock is not None:
        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)
    return engine


def make_engines(url: str, sqlite_cache_mib: int) -> tuple[Engine, Engine]:
    """The engine for writes and the engine for reads (the same one on PostgreSQL).
    ``sqlite_cache_mib``: the most each SQLite connection keeps of the file in its page cache,
    in MiB (SQLite's own default is 2 MiB: a large registry's indexes are then read again from
    the operating system on every look-up)."""
    if url.startswith("sqlite"):
        lock = _WRITE_LOCKS.setdefault(url, threading.Lock())
        return (_sqlite(url, "BEGIN IMMEDIATE", lock, sqlite_cache_mib),
                _sqlite(url, "BEGIN", None, sqlite_cache_mib))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True, **JSON_OPTIONS)
    return engine, engine
