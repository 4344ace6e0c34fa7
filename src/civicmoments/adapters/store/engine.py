"""Creating SQLAlchemy engines: SQLite in WAL mode with one writer at a time, or PostgreSQL.

On SQLite there are two engines on one file. Writes start with ``BEGIN IMMEDIATE`` and
queue for it (``WriterQueue``): threads of a process on a lock, and processes on an exclusive
``flock`` of a file beside the database (``<database>-writer``), waiting in the kernel's queue. SQLite's busy
handler, by contrast, sleeps 1 to 100 ms between tries, leaving the database idle while a
waiting worker sleeps; it stays as the fallback for writers outside the queue. Reads start a
plain deferred transaction and never wait for writers.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

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
    exclusive ``flock`` on ``path`` for the processes (``path`` None: an in-memory database,
    this process alone, or a folder where the file cannot be made). A process waits for the
    ``flock`` in the kernel's queue, which wakes it the moment the lock is let go (polling, by
    contrast, let the holder take turn after turn). The file is opened for each turn and closed
    at its end, so nothing stays open between turns, a forked child never holds its parent's
    turn, and a process that dies lets go. A thread that asks for a second turn while it holds
    one (a write inside a write, on another engine of the same file) is refused with
    ``sqlite3.OperationalError`` rather than left waiting on itself."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._holder: int | None = None

    def _forget(self) -> None:
        self._thread_lock, self._fd, self._holder = threading.Lock(), None, None  # a forked child starts outside

    def acquire(self) -> None:
        me = threading.get_ident()
        if self._holder == me:
            raise sqlite3.OperationalError("database is locked: this thread already holds the write transaction "
                                           "of this SQLite file")
        self._thread_lock.acquire()
        self._holder = me
        if self.path is None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:  # a read-only folder, say: SQLite's busy handler still keeps writers apart
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            self._holder = None
            self._thread_lock.release()
            raise
        self._fd = fd

    def release(self) -> None:
        try:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)  # closing the file lets go of its lock
        finally:
            self._holder = None
            self._thread_lock.release()


os.register_at_fork(after_in_child=lambda: [queue._forget() for queue in _WRITE_LOCKS.values()])


def _writer_path(url: str) -> str | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.realpath(database) + "-writer"


def writer_queue(url: str) -> WriterQueue:
    """The one queue of this process for the SQLite file ``url`` names, however it is spelt."""
    key = _writer_path(url) or url
    queue = _WRITE_LOCKS.get(key)
    if queue is None:
        queue = _WRITE_LOCKS[key] = WriterQueue(_writer_path(url))
    return queue


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
            try:
                lock.acquire()
            except sqlite3.OperationalError as exc:  # as SQLAlchemy hands on the driver's own errors
                raise OperationalError(begin, None, exc) from exc
            conn.info["civic_write_lock"] = True
        try:
            conn.exec_driver_sql(begin)
        except Exception:
            _release(conn)
            raise

    def _release(conn) -> None:  # a Connection, the pool's connection or its record: one ``info`` for all
        try:
            info = conn.info
        except (AttributeError, NotImplementedError):  # the bare connection SQLAlchemy's first look uses
            return
        if info.pop("civic_write_lock", False):
            lock.release()

    if lock is not None:
        # The turn passes on at SQLAlchemy's commit or rollback event, just before SQLite's own:
        # the next writer's BEGIN IMMEDIATE may wait out the last of that COMMIT in SQLite's busy
        # handler, but the checkpoint SQLite runs after a commit then overlaps the next turn
        # (holding the turn through the COMMIT measured 8 to 12% slower on the layoff benchmark).
        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)
        # And whatever becomes of the connection otherwise, its turn ends when it goes back to the pool.
        event.listen(engine, "checkin", lambda _dbapi_conn, record: _release(record))
        event.listen(engine, "invalidate", lambda _dbapi_conn, record, _exc: _release(record))
    return engine


def make_engines(url: str, sqlite_cache_mib: int) -> tuple[Engine, Engine]:
    """The engine for writes and the engine for reads (the same one on PostgreSQL).
    ``sqlite_cache_mib``: the most each SQLite connection keeps of the file in its page cache,
    in MiB (SQLite's own default is 2 MiB: a large registry's indexes are then read again from
    the operating system on every look-up)."""
    if url.startswith("sqlite"):
        lock = writer_queue(url)
        return (_sqlite(url, "BEGIN IMMEDIATE", lock, sqlite_cache_mib),
                _sqlite(url, "BEGIN", None, sqlite_cache_mib))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True, **JSON_OPTIONS)
    return engine, engine
