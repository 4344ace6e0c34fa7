"""How the store's statements find their rows: by key, never by reading a whole table or every
row of a status to find a few.

Both databases' planners can go wrong on the engine's tables in the same two ways:

- A condition on a status beside a key (a batch's events by sequence number, a journey's
  effects, a person's cases) may be answered by walking the status index over every row of
  that status: the whole queue when a large report waits. SQLite's planner does so whenever
  an index starts with the status; PostgreSQL's on a table it has no statistics for yet.
  ``unindexed`` wraps the status so that no index can answer it and the key's index is used.
- PostgreSQL has no statistics for a table until ``ANALYZE`` (autovacuum's, or by hand)
  first reaches it; until then it takes a growing table for a few pages, and a join of arrays
  of keys (``unnest``) to it, or a look-up by a list of keys, is planned as a read of the whole
  table (into a hash, or filtered): 14 ms instead of 2.5 to move 200 journeys among 20,000,
  30 ms instead of 0.5 to look for 200 events among 60,000, and growing with the table.
  ``by_key`` sets sequential scans off for the statements in its block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import func, literal
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


def unindexed(column):
    """``column`` as a value no index is kept for (``coalesce(column, '')``, or ``-1`` for a
    number): a condition on it then filters the rows that another condition found by key.
    Raises ``TypeError`` for a column of any other type (a flag, a date), which has no such value."""
    try:
        kind = column.type.python_type
    except NotImplementedError:  # a type that names no Python type has no neutral value we know
        kind = None
    if kind is None or kind is bool or not issubclass(kind, str | int | float):
        raise TypeError(f"unindexed() takes a text or number column, not {column.type} ({column})")
    return func.coalesce(column, "" if issubclass(kind, str) else -1)


def status_is(column, status: str):
    """``column = '<status>'`` with the status written into the statement's text, not sent as a
    parameter: the form in which a partial index kept for that status (``schema.only``) serves
    it. PostgreSQL proves an index's condition from what the plan is made for, and a statement
    prepared on the server (psycopg prepares one after its fifth run) may be planned once for any
    value of a parameter, when no such index could be used."""
    return column == literal(str(status), column.type, literal_execute=True)


OFF = "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
BACK = "SELECT set_config('enable_seqscan', %s, true)"


@contextlib.contextmanager
def by_key(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, the statements run in the block with sequential scans off (for this
    transaction only), and the setting as it was afterwards, also when the block raises (unless
    the transaction has failed, when the setting ends with it at the rollback). Elsewhere,
    nothing. Two round trips (one where they are already off, as in a ``keyed_transaction``):
    for statements whose rows are named by key."""
    if conn.dialect.name != "postgresql":
        yield
        return
    was = conn.exec_driver_sql(OFF).scalar()
    if was == "off":
        yield
        return
    try:
        yield
    except BaseException:
        with contextlib.suppress(DBAPIError):  # a failed transaction refuses it, and rolls the setting back
            conn.exec_driver_sql(BACK, (was,))
        raise
    conn.exec_driver_sql(BACK, (was,))


def keyed_transaction(conn: Connection) -> None:
    """On PostgreSQL, sequential scans off for the rest of ``conn``'s transaction: for the engine's
    own transactions (a dispatched batch), every statement of which names its rows by key, by
    person or by partition. One round trip; nothing elsewhere."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
