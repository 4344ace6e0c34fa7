"""The insights projection: each journey's facts kept as journeys move, and their sums.

Three tables (migration 0021):

- ``journey_facts``: one row per journey, ``domain.insights.fact_row`` of its ``JourneyFacts``
  (the same facts ``InsightStore.journey_rows`` reads, so the reference and the projection agree
  by construction), indexed so that order statistics are read by position;
- ``insight_cells``: ``domain.insights.CELL_SUMS`` per (moment, group, version, day started,
  group value), with group "all" for everyone; a report reads a few hundred of these rows, not a
  million journeys;
- ``insight_dirty``: marks, only ever appended, each of a journey whose facts are out of date or
  of a person whose journeys' are (a consent, a refused disclosure, eligibility, a request).
  Triggers on every table the facts are read from leave them in the transaction that changes
  what they read, so no writer can forget to; as nothing is updated or checked for uniqueness,
  a writer never waits for another's mark nor for a refresh.

``refresh`` first turns the marks of people into marks of their journeys (a journey started while
that is done has a mark of its own, made when it was stored), then takes the marked journeys in
id order, a batch at a time. On PostgreSQL it holds each with a transaction-level advisory lock
that no other refresh holds, so refreshes in several processes share the work and no journey is
recomputed by two at once (each would move the sums by the same difference); a journey another
refresh holds is left to it. It reads the journeys' marks, recomputes their facts and moves each
cell by the difference between the new facts and the old, and deletes the marks it read, all in
one transaction: a mark made while a batch is computed is not among those read, and is taken by
the next refresh.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Engine

from ...domain import insights as m
from .insights import InsightStore
from .schema import insight_cells, insight_dirty, insight_state, journey_facts, journey_groups, journeys
from .sql import chunks, utc

Spec = tuple[str | None, tuple[str, ...]]  # a moment's (service, zero-touch steps) from insights.yaml
Band = Callable[[list[tuple[str, str, datetime]]], list[dict[str, Any]]]
_GROUPED = ("all", *m.GROUPS)
_MARK_ALL = "INSERT INTO insight_dirty (journey_id) SELECT id FROM journeys"
_LOCKS = 1769  # the advisory locks' first key (the second: the journey id's hash); see refresh


def settings_digest(specs: Mapping[str, Spec]) -> str:
    """What the facts depend on beyond the store: each moment's service and zero-touch steps."""
    text = json.dumps({k: [v[0], list(v[1])] for k, v in sorted(specs.items())}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class FactStore:
    def __init__(self, engine: Engine, reader: Engine, rows: InsightStore) -> None:
        self.engine, self.reader, self.rows = engine, reader, rows
        self.pg = engine.dialect.name == "postgresql"
        self._cols = [c.name for c in journey_facts.c]

    # -- keeping the projection --------------------------------------------------------------
    def pending(self) -> int:
        """Journeys whose facts are out of date: those marked, and those of the people marked."""
        d, j = insight_dirty, journeys
        marked = select(d.c.journey_id.label("id")).where(d.c.journey_id.is_not(None))
        of_people = select(j.c.id).join(d, d.c.person == j.c.person)
        both = marked.union(of_people).subquery()
        with self.reader.connect() as conn:
            return conn.execute(select(func.count()).select_from(both)).scalar_one()

    def refresh(self, specs: Mapping[str, Spec], band: Band, batch: int = 2000,
                progress: Callable[[int, int], None] | None = None) -> int:
        """Bring every marked journey's facts and the sums up to date; returns how many journeys
        were recomputed. ``band(rows)`` gives ``journey_groups`` rows for journeys not yet banded
        ((journey id, person, started_at UTC) in). ``progress(done, pending)`` after each batch
        (``pending``: journeys out of date when it began). When ``specs`` differ from those the
        facts were computed with, every journey is marked. It passes over the marked journeys once,
        in id order: a mark made behind it is left to the next refresh, so a steady stream of
        writes cannot hold it."""
        digest = settings_digest(specs)
        d = insight_dirty
        with self.engine.begin() as conn:
            known = conn.execute(select(insight_state.c.settings).where(insight_state.c.id == 1)).scalar()
            if known != digest:
                conn.exec_driver_sql(_MARK_ALL)
                # two processes may see the change at once: the second writes the same digest
                conn.exec_driver_sql(f"INSERT INTO insight_state (id, settings) VALUES (1, {self._mark}) "
                                     "ON CONFLICT (id) DO UPDATE SET settings = excluded.settings", (digest,))
            last = conn.execute(select(func.max(d.c.seq))).scalar()
        if last is None:
            return 0
        pending = self.pending() if progress is not None else 0
        self._people(last, batch)
        done, after = 0, ""
        while True:
            with self.engine.begin() as conn:
                found = list(conn.execute(
                    select(d.c.journey_id).where(d.c.journey_id > after).distinct()
                    .order_by(d.c.journey_id).limit(batch)).scalars())
                if not found:
                    break
                after = found[-1]
                ids = self._take(conn, found)  # the rest another refresh holds: their marks wait for it
                if ids:
                    self._band(conn, ids, band)  # its rows mark the journeys: read with the rest
                    seqs = list(conn.execute(select(d.c.seq).where(d.c.journey_id.in_(ids))).scalars())
                    self._apply(conn, ids, specs)
                    self._clear(conn, seqs)  # only the marks read before the facts were
            done += len(ids)
            if progress is not None:
                progress(done, max(pending, done))
        return done

    def _people(self, last: int, batch: int) -> None:
        """Turn the marks of people (up to ``last``) into marks of their journeys. A journey started
        after the lookup has a mark of its own, made when it was stored."""
        d = insight_dirty
        after = ""
        while True:  # in order of person, once (rescanning from the start would step over every mark cleared)
            with self.engine.begin() as conn:
                q = (select(d.c.seq, d.c.person).where(d.c.person >= after, d.c.seq <= last)
                     .order_by(d.c.person).limit(batch))
                if self.pg:
                    q = q.with_for_update(skip_locked=True)
                marks = conn.execute(q).all()
                if not marks:
                    return
                people = sorted({r.person for r in marks})
                after = people[-1]
                ids: set[str] = set()
                for part in chunks(people):
                    ids.update(conn.execute(select(journeys.c.id).where(journeys.c.person.in_(part))).scalars())
                if ids:
                    self.rows.bulk.insert(conn, d, [{"journey_id": jid} for jid in sorted(ids)])
                self._clear(conn, [r.seq for r in marks])

    def _clear(self, conn: Connection, seqs: list[int]) -> None:
        """Delete these marks (on PostgreSQL as one array: thousands of parameters cost more to
        send than the delete)."""
        if self.pg:
            conn.exec_driver_sql("DELETE FROM insight_dirty WHERE seq = ANY(%s)", (seqs,))
            return
        for part in chunks(seqs):
            conn.execute(delete(insight_dirty).where(insight_dirty.c.seq.in_(part)))

    @property
    def _mark(self) -> str:
        return "%s" if self.pg else "?"

    def _take(self, conn: Connection, ids: list[str]) -> list[str]:
        """The journeys of ``ids`` that no other refresh holds: on PostgreSQL, those this
        transaction now holds an advisory lock on (to its end), so that no journey is recomputed
        by two refreshes at once (each would move the sums by the same difference); on SQLite
        (one writer) all of them."""
        if not self.pg or not ids:
            return ids
        taken = set(conn.exec_driver_sql(
            "SELECT id FROM unnest(%s::text[]) AS t(id) WHERE pg_try_advisory_xact_lock(%s, hashtext(id))",
            (ids, _LOCKS)).scalars())
        return [i for i in ids if i in taken]

    def _band(self, conn: Connection, ids: list[str], band: Band) -> None:
        q = (select(journeys.c.id, journeys.c.person, journeys.c.started_at)
             .outerjoin(journey_groups, journey_groups.c.journey_id == journeys.c.id)
             .where(journeys.c.id.in_(ids), journey_groups.c.journey_id.is_(None)))
        found = [(r.id, r.person, utc(r.started_at)) for r in conn.execute(q)]
        if found:
            self.rows.bulk.insert(conn, journey_groups, band(found), ignore_conflicts=True)

    def _apply(self, conn: Connection, ids: list[str], specs: Mapping[str, Spec]) -> None:
        by_moment: dict[str, list[str]] = defaultdict(list)
        for jid, moment in conn.execute(select(journeys.c.id, journeys.c.moment).where(journeys.c.id.in_(ids))):
            by_moment[moment].append(jid)
        new: dict[str, dict[str, Any]] = {}
        for moment, mine in by_moment.items():
            service, steps = specs.get(moment, (None, ()))
            for r in self.rows.journey_rows(moment, None, None, None, service, steps, ids=mine, conn=conn):
                jid, started = r.pop("_id"), r.pop("_started")
                new[jid] = {"journey_id": jid, "moment": moment, "started_at": started,
                            "day": started.astimezone(timezone.utc).date().isoformat(),
                            **m.fact_row(m.JourneyFacts(**r))}
        old = {r.journey_id: dict(r._mapping) for r in
               conn.execute(select(journey_facts).where(journey_facts.c.journey_id.in_(ids)))}
        width = len(m.CELL_SUMS)
        both = [*old.values(), *new.values()]
        signs = np.array([-1] * len(old) + [1] * len(new), dtype=np.int64)[:, None]
        counts = np.array([m.contribution(r) for r in both], dtype=np.int64).reshape(len(both), width) * signs
        where: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(both):
            for grp in _GROUPED:
                where[(row["moment"], grp, row["version"], row["day"], "all" if grp == "all" else row[grp])].append(i)
        moved = {key: counts[rows].sum(axis=0).tolist() for key, rows in where.items()}
        if old:
            conn.execute(delete(journey_facts).where(journey_facts.c.journey_id.in_(list(old))))
        if new:
            self.rows.bulk.insert(conn, journey_facts, [{c: r[c] for c in self._cols} for r in new.values()])
        changes = [(*key, *acc) for key, acc in sorted(moved.items()) if any(acc)]
        if changes:  # in key order: refreshes in two processes lock cells in the same order
            keys = ("moment", "grp", "version", "day", "value")
            cols = ", ".join((*keys, *m.CELL_SUMS))
            mark = self._mark
            conn.exec_driver_sql(
                f"INSERT INTO insight_cells ({cols}) VALUES ({', '.join([mark] * (len(keys) + width))}) "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                + ", ".join(f"{c} = insight_cells.{c} + excluded.{c}" for c in m.CELL_SUMS), changes)

    # -- reading it ----------------------------------------------------------------------------
    def versions(self, moment: str) -> dict[str, int]:
        """{version: journeys} of ``moment`` in the projection."""
        c = insight_cells.c
        with self.reader.connect() as conn:
            return {v: int(n) for v, n in conn.execute(
                select(c.version, func.sum(c.journeys)).where(c.moment == moment, c.grp == "all")
                .group_by(c.version).having(func.sum(c.journeys) > 0))}

    def sums(self, moment: str, versions: Sequence[str] | None, days: tuple[str | None, str | None],
             by: str | None) -> dict[str, dict[str, int]]:
        """{key: CELL_SUMS} of the journeys of ``moment`` (of ``versions``; started on days in
        [days[0], days[1]), ISO dates, None for open): one key "all" (``by`` None), one per
        version (``by`` "version") or one per value of a group. Keys with no journeys are absent."""
        c = insight_cells.c
        key = (c.moment if by is None else c.version if by == "version" else c.value).label("k")
        where = [c.moment == moment, c.grp == (by if by in m.GROUPS else "all")]
        if versions is not None:
            where.append(c.version.in_(list(versions)))
        if days[0] is not None:
            where.append(c.day >= days[0])
        if days[1] is not None:
            where.append(c.day < days[1])
        q = (select(key, *[func.sum(getattr(c, s)).label(s) for s in m.CELL_SUMS]).where(*where)
             .group_by(key).having(func.sum(c.journeys) > 0))
        with self.reader.connect() as conn:
            return {("all" if by is None else r.k): {s: int(getattr(r, s)) for s in m.CELL_SUMS}
                    for r in conn.execute(q)}

    @staticmethod
    def _present(column: str, moment: str, version: str | None):
        """``column`` of ``journey_facts`` and the conditions for its values in ``moment`` (of ``version``)."""
        col = journey_facts.c[column]
        where = [journey_facts.c.moment == moment, col.is_not(None)]
        if version is not None:
            where.append(journey_facts.c.version == version)
        return col, where

    def at(self, column: str, moment: str, version: str | None) -> Callable[[int], float]:
        """``at(i)``: the i-th smallest value (0-based) of ``column`` ("outcome_days" or
        "first_notice_days") among the journeys of ``moment`` (of ``version``), read by position
        in its index."""
        col, where = self._present(column, moment, version)
        seen: dict[int, float] = {}

        def value(i: int) -> float:  # two at a time: a median of an even count needs its neighbour
            if i not in seen:
                with self.reader.connect() as conn:
                    got = conn.execute(select(col).where(*where).order_by(col).limit(2).offset(i)).scalars().all()
                seen.update(zip(range(i, i + len(got)), got, strict=True))
            return seen[i]
        return value

    def upto(self, column: str, moment: str, version: str | None) -> Callable[[float], int]:
        """``upto(d)``: how many of those values are <= d."""
        col, where = self._present(column, moment, version)

        def count(bound: float) -> int:
            with self.reader.connect() as conn:
                return conn.execute(select(func.count()).where(*where, col <= bound)).scalar_one()
        return count

    def ordered(self, column: str, moment: str, versions: Sequence[str] | None, start: datetime | None,
                end: datetime | None, by: str | None) -> tuple[np.ndarray | None, np.ndarray]:
        """(labels, values): ``column``'s values among the journeys of ``moment`` (of ``versions``,
        started in [start, end)), sorted, with the value of ``by`` ("version" or a group) for each
        (None when ``by`` is None)."""
        if column not in ("outcome_days", "first_notice_days") or (by is not None and by != "version"
                                                                    and by not in m.GROUPS):
            raise ValueError(f"no order statistics of {column!r} by {by!r}")
        mark = "%s" if self.pg else "?"
        where, params = [f"moment = {mark}", f"{column} IS NOT NULL"], [moment]
        if versions is not None:
            where.append(f"version IN ({', '.join([mark] * len(versions))})")
            params += list(versions)
        for bound, op in ((start, ">="), (end, "<")):
            if bound is not None:
                where.append(f"started_at {op} {mark}")
                params.append(bound if self.pg else self.rows.bulk.tuples(
                    journey_facts, ("started_at",), [{"started_at": bound}])[0][0])
        sql = (f"SELECT {by or 'NULL'}, {column} FROM journey_facts WHERE {' AND '.join(where)} "
               f"ORDER BY {column}")
        with self.reader.connect() as conn:  # the driver's own rows: a million of them without wrapping
            cur = conn.connection.driver_connection.cursor()
            try:
                cur.execute(sql, tuple(params))
                rows = cur.fetchall()
            finally:
                cur.close()
        if not rows:
            return (np.array([], dtype=str) if by is not None else None), np.array([], dtype=np.float64)
        labels, values = zip(*rows, strict=True)
        return (np.array(labels, dtype=str) if by is not None else None), np.array(values, dtype=np.float64)
