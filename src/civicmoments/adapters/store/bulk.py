"""Fast batched writes for the engine's hot paths.

SQLAlchemy Core compiles and converts every parameter of every row; for batches of
thousands of rows that is most of the cost. Here each column's conversion is chosen once
per table, rows become tuples, and the driver's ``executemany`` gets them directly. The
stored values are the same as SQLAlchemy's, so reads through SQLAlchemy see no difference.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Date, DateTime, Table
from sqlalchemy.engine import Connection

Convert = Callable[[Any], Any] | None


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch of parsed rows is built.

    Parsed JSON is trees of dicts and lists, freed by reference counting alone; but building a
    batch of hundreds of thousands of them sets off collection after collection, each walking
    every object the batch already holds (over half the time of reading 10,000 profiles). The
    collector runs again, as before, when the block ends. Never hold this across a ``yield``."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_date(value) -> str:
    return value.isoformat()


@lru_cache(maxsize=4096)  # a batch's rows share a handful of timestamps
def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, in UTC. The year is padded by hand: strftime's %Y
    # gives "1" for the year 1 on glibc, which SQLAlchemy cannot read back.
    v = value.astimezone(timezone.utc)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
            f".{v.microsecond:06d}")


class Bulk:
    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self.mark = "%s" if self.pg else "?"
        self._converters: dict[tuple[str, tuple[str, ...]], list[Convert]] = {}

    def _convert(self, table: Table, cols: tuple[str, ...]) -> list[Convert]:
        key = (table.name, cols)
        if key not in self._converters:
            out: list[Convert] = []
            for name in cols:
                kind = table.c[name].type
                if isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON):
                    out.append(json_text)
                elif isinstance(kind, DateTime) and not self.pg:
                    out.append(_sqlite_time)
                elif isinstance(kind, Date) and not self.pg:
                    out.append(_sqlite_date)
                else:
                    out.append(None)
            self._converters[key] = out
        return self._converters[key]

    def tuples(self, table: Table, cols: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> list[tuple]:
        convs = list(zip(cols, self._convert(table, cols), strict=True))
        return [
            tuple(r[c] if f is None or r[c] is None else f(r[c]) for c, f in convs) for r in rows
        ]

    def insert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
               ignore_conflicts: bool = False) -> None:
        if not rows:
            return
        cols = tuple(rows[0])
        names = ", ".join(f'"{c}"' for c in cols)
        sql = f'INSERT INTO {table.name} ({names}) VALUES ({", ".join([self.mark] * len(cols))})'
        if ignore_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        conn.exec_driver_sql(sql, self.tuples(table, cols, rows))

    def update(self, conn: Connection, table: Table, set_cols: Sequence[str], where_cols: Sequence[str],
               rows: Sequence[dict[str, Any]], extra_set: str = "", extra_where: str = "") -> int:
        """``UPDATE table SET a=?, ... WHERE k=? AND ...`` once per row; returns rows changed."""
        if not rows:
            return 0
        sets = [f'"{c}" = {self.mark}' for c in set_cols] + ([extra_set] if extra_set else [])
        wheres = [f'"{c}" = {self.mark}' for c in where_cols] + ([extra_where] if extra_where else [])
        sql = f"UPDATE {table.name} SET {', '.join(sets)} WHERE {' AND '.join(wheres)}"
        cols = tuple(set_cols) + tuple(where_cols)
        return conn.exec_driver_sql(sql, self.tuples(table, cols, rows)).rowcount
