"""Creating SQLAlchemy engines: SQLite in WAL mode with one writer at a time, or PostgreSQL.

On SQLite there are two engines on one file. Writes start with ``BEGIN IMMEDIATE`` and
queue for it: threads of a process on a lock, and processes on an exclusive ``flock`` of a
file beside the database (``<database>-writer``), which the kernel hands to the next waiter
the moment it is let go. SQLite's own busy handler, by contrast, sleeps 1 to 100 ms between
tries, leaving the database idle while a waiting worker sleeps. The busy handler stays as the
fallback for writers outside this queue. Reads start a plain deferred transaction and never
wait for writers.
"""

from __future__ import annotations

import fcntl
import os
import threading

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from .bulk import json_text


def json_value(raw):
    """A JSON column's stored value as Python: text is parsed; anything else is as SQLite gave it."""
    # SQLite gives JSON columns numeric affinity, so a stored 10 comes back as the integer 10.
    return orjson.loads(raw) if isinstance(raw, str | bytes) else raw


# Errors never carry the statement's values: they would put people's data in the logs.
JSON_OPTIONS = {"json_serializer": json_text, "json_deserializer": json_value, "hide_parameters": True}
_WRITE_LOCKS: dict[str, WriterQueue] = {}


class WriterQueue:
    """One writer at a time on a SQLite file: a thread lock for this process's threads, then an
    exclusive ``flock`` on ``path`` (``None``: an in-memory database, this process alone) for
    the processes. ``flock`` blocks without holding the GIL and is let go by the kernel if the
    process dies. ``flock`` locks belong to the open file, so each process opens it once, and a
    forked child opens its own (``_reopen``) rather than share its parent's."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._reopen()

    def _reopen(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # the parent's open file: closing this copy leaves the parent's lock as it is
        self._thread_lock = threading.Lock()
        self._fd = None
        if self.path:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:  # a read-only folder, say: SQLite's busy handler still keeps writers apart
                self._fd = None

    def acquire(self) -> None:
        self._thread_lock.acquire()
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def _after_fork_in_child() -> None:
    for queue in _WRITE_LOCKS.values():
        queue._reopen()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _writer_path(url: str) -> str | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database) + "-writer"


def _sqlite(url: str, begin: str, lock: WriterQueue | None, cache_mib: int) -> Engine:
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
        lock = _WRITE_LOCKS.get(url)
        if lock is None:
            lock = _WRITE_LOCKS[url] = WriterQueue(_writer_path(url))
        return (_sqlite(url, "BEGIN IMMEDIATE", lock, sqlite_cache_mib),
                _sqlite(url, "BEGIN", None, sqlite_cache_mib))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True, **JSON_OPTIONS)
    return engine, engine
