"""Fast batched writes for the engine's hot paths.

SQLAlchemy Core compiles and converts every parameter of every row; for batches of
thousands of rows that is most of the cost. Here each column's conversion is chosen once
per table, rows become tuples, and the driver's ``executemany`` gets them directly. The
stored values are the same as SQLAlchemy's, so reads through SQLAlchemy see no difference.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Date, DateTime, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from .paths import by_key

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


def _row_function(cols: tuple[str, ...], convs: Sequence[Convert]) -> Callable[[dict[str, Any]], tuple]:
    """``row -> tuple`` for one column list: a lambda compiled once, reading each key and
    converting only the columns that need it (None stays None), with no per-value loop."""
    env: dict[str, Any] = {}
    parts = []
    for i, (name, conv) in enumerate(zip(cols, convs, strict=True)):
        if conv is None:
            parts.append(f"r[{name!r}]")
        else:
            env[f"f{i}"] = conv
            parts.append(f"(None if (v{i} := r[{name!r}]) is None else f{i}(v{i}))")
    return eval(f"lambda r: ({', '.join(parts)},)", env)  # noqa: S307 - built from the table's own column names


@dataclass(frozen=True)
class Prepared:
    """One batched statement with its rows already converted to the driver's values: built
    before a SQLite write transaction begins, so the single writer's turn is spent writing,
    not serialising JSON (``Bulk.prepare``; run with ``Bulk.run``). ``params`` is a list of
    rows (the statement runs once per row) or, on PostgreSQL, a tuple of one array per column
    (the statement runs once, over ``unnest`` of the arrays)."""

    sql: str
    params: list[tuple] | tuple[list, ...]
    by_key: bool = False  # a PostgreSQL UPDATE joined to arrays of keys: run in ``by_key``


# PostgreSQL column types an array parameter can carry as they are (sent in binary, ``%b``),
# without their length or precision; a table with a column of any other type (an array, a
# range, bytes) is written a statement per row.
_ARRAY_TYPES = frozenset({"VARCHAR", "TEXT", "SMALLINT", "INTEGER", "BIGINT", "BOOLEAN", "FLOAT", "DOUBLE PRECISION",
                          "REAL", "NUMERIC", "DATE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITHOUT TIME ZONE",
                          "JSON", "JSONB"})


class Bulk:
    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self.mark = "%s" if self.pg else "?"
        self._converters: dict[tuple[str, tuple[str, ...]], list[Convert]] = {}
        self._rows: dict[tuple[str, tuple[str, ...]], Callable[[dict[str, Any]], tuple]] = {}
        self._arrays: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]] | None] = {}

    def _array_columns(self, table: Table, cols: Sequence[str]) -> list[tuple[str, str]] | None:
        """On PostgreSQL, per column the array parameter (``%b::TYPE[]``) and the value read from
        it (``{}``: the unnested column's name goes there; JSON travels as text and is cast);
        ``None`` where a column's type is not one of ``_ARRAY_TYPES``, or on SQLite."""
        key = (table.name, tuple(cols))
        if key not in self._arrays:
            self._arrays[key] = self._array_columns_of(table, cols) if self.pg else None
        return self._arrays[key]

    @staticmethod
    def _array_columns_of(table: Table, cols: Sequence[str]) -> list[tuple[str, str]] | None:
        found = []
        for name in cols:
            kind = table.c[name].type.compile(dialect=postgresql.dialect())
            # The array is of the type without its length or precision: an explicit cast to
            # VARCHAR(n) would cut a longer value short, where writing it to the column refuses it.
            base = re.sub(r"\(.*?\)", "", kind)
            if base not in _ARRAY_TYPES:
                return None
            json = base.startswith("JSON")
            found.append(("%b::text[]" if json else f"%b::{base}[]", f"{{}}::{kind}" if json else "{}"))
        return found

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
        key = (table.name, cols)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _row_function(cols, self._convert(table, cols))
        return [row(r) for r in rows]

    def prepare(self, table: Table, rows: Sequence[dict[str, Any]], ignore_conflicts: bool = False
                ) -> Prepared | None:
        """The ``INSERT`` of ``rows`` (dicts with the same keys), converted now; ``None`` for no rows."""
        if not rows:
            return None
        cols = tuple(rows[0])
        return self.prepare_tuples(table, cols, self.tuples(table, cols, rows), ignore_conflicts)

    def prepare_tuples(self, table: Table, cols: tuple[str, ...], values: list[tuple],
                       ignore_conflicts: bool = False) -> Prepared | None:
        """The ``INSERT`` of rows already converted by ``tuples`` (some of them, say, chosen once a
        transaction has begun); ``None`` for no rows."""
        if not values:
            return None
        names = ", ".join(f'"{c}"' for c in cols)
        arrays = self._array_columns(table, cols)
        if arrays is not None:  # PostgreSQL: one statement for the batch, one array per column
            picked = ", ".join(read.format(f"c{i}") for i, (_, read) in enumerate(arrays))
            # In the rows' order, so ids from a sequence follow it as they did row by row.
            sql = (f"INSERT INTO {table.name} ({names}) SELECT {picked} FROM unnest("
                   f"{', '.join(a for a, _ in arrays)}) WITH ORDINALITY "
                   f"AS v({', '.join(f'c{i}' for i in range(len(cols)))}, n) ORDER BY n")
            params: list[tuple] | tuple[list, ...] = tuple(list(c) for c in zip(*values, strict=True))
        else:
            sql = f'INSERT INTO {table.name} ({names}) VALUES ({", ".join([self.mark] * len(cols))})'
            params = values
        if ignore_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        return Prepared(sql, params)

    def prepare_update(self, table: Table, set_cols: Sequence[str], where_cols: Sequence[str],
                       rows: Sequence[dict[str, Any]], extra_set: str = "", extra_where: str = ""
                       ) -> Prepared | None:
        """``UPDATE table SET a=?, ... WHERE k=? AND ...`` for each of ``rows``, converted now."""
        if not rows:
            return None
        cols = tuple(set_cols) + tuple(where_cols)
        values = self.tuples(table, cols, rows)
        arrays = self._array_columns(table, cols)
        if arrays is not None:  # PostgreSQL: one statement, joined to the arrays (``extra_*`` name the table's columns)
            given = [read.format(f"v.c{i}") for i, (_, read) in enumerate(arrays)]
            sets = [f'"{c}" = {v}' for c, v in zip(set_cols, given, strict=False)] + ([extra_set] if extra_set else [])
            wheres = ([f'{table.name}."{c}" = {v}' for c, v in zip(where_cols, given[len(set_cols):], strict=True)]
                      + ([extra_where] if extra_where else []))
            sql = (f"UPDATE {table.name} SET {', '.join(sets)} FROM unnest({', '.join(a for a, _ in arrays)}) "
                   f"AS v({', '.join(f'c{i}' for i in range(len(cols)))}) WHERE {' AND '.join(wheres)}")
            return Prepared(sql, tuple(list(c) for c in zip(*values, strict=True)), by_key=True)
        sets = [f'"{c}" = {self.mark}' for c in set_cols] + ([extra_set] if extra_set else [])
        wheres = [f'"{c}" = {self.mark}' for c in where_cols] + ([extra_where] if extra_where else [])
        sql = f"UPDATE {table.name} SET {', '.join(sets)} WHERE {' AND '.join(wheres)}"
        return Prepared(sql, values)

    @staticmethod
    def run(conn: Connection, prepared: Prepared | None) -> int:
        """Execute a prepared statement in ``conn``'s transaction; returns the rows it changed (0 for none).
        The rows of an ``UPDATE`` are expected to name each row once."""
        if prepared is None:
            return 0
        with by_key(conn) if prepared.by_key else contextlib.nullcontext():
            return conn.exec_driver_sql(prepared.sql, prepared.params).rowcount

    def insert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
               ignore_conflicts: bool = False) -> None:
        self.run(conn, self.prepare(table, rows, ignore_conflicts))

    def update(self, conn: Connection, table: Table, set_cols: Sequence[str], where_cols: Sequence[str],
               rows: Sequence[dict[str, Any]], extra_set: str = "", extra_where: str = "") -> int:
        """``UPDATE table SET a=?, ... WHERE k=? AND ...`` once per row; returns rows changed."""
        return self.run(conn, self.prepare_update(table, set_cols, where_cols, rows, extra_set, extra_where))
