"""Insights over millions of journeys: DuckDB reading the store's own tables, read-only.

``Analytics.tallies(...)`` returns ``{key: domain.insights.Tally}``: one population per key (all
journeys, each version, each value of a group, or everyone outside a group's value), summed in
SQL. The per-journey facts are the same as ``InsightStore.journey_rows`` gives (the same joins,
the same rounding of days to 4 places) and the sums and order statistics the same as
``domain.insights.tally`` (the reference the tests compare this with): ``median`` is the middle
value or the mean of the two middle values; percentiles are by nearest rank,
``sorted[max(1, ceil(q/100 * n)) - 1]``. Python only receives the few dozen numbers per key.

DuckDB attaches the SQLite file (``sqlite_scanner``) or the PostgreSQL database
(``postgres_scanner``) read-only for each call, so every call sees what is committed. On SQLite
it runs in a child process of its own: the scanner carries its own copy of SQLite, and closing
its file there would drop the POSIX locks this process's connections hold on the store, so the
next process to open and close the file would delete the write-ahead log from under them. The
extensions are loaded from the pinned ``duckdb-extension-*`` packages of DuckDB's own version
(``pip install civicmoments[insights]``); DuckDB never downloads or auto-loads one.
``Analytics.open(engine)`` returns None, with ``unavailable`` saying why, when DuckDB or the
extension is not installed, and insights then use the SQL path.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import Engine

from ...domain.insights import GROUPS, Tally, UnitCosts
from .insights import UNKNOWN_VERSION

EXTENSIONS = {"sqlite": "sqlite_scanner", "postgresql": "postgres_scanner"}
Split = tuple[str | None, bool]  # (by: None, "version" or a group; rest: everyone outside each value)
MEMORY_LIMIT = "512MB"  # DuckDB's own working memory; it spills to disk beyond it

unavailable: str | None = None  # why the last ``open`` found no analytical engine


def extension_path(name: str, version: str) -> Path | None:
    """The ``name`` extension file shipped in the ``duckdb-extension-<name>`` package for DuckDB
    ``version``, or None when that package (at that version) is not installed."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    return path if path.is_file() else None


class Analytics:
    """DuckDB over one store (see the module's docstring); one connection, used under a lock."""

    name = "duckdb"

    def __init__(self, duckdb, extension: Path, kind: str, target: str) -> None:
        self._duckdb, self.extension, self.kind, self.target = duckdb, extension, kind, target
        self._lock = threading.Lock()
        self._conn = None
        self._child = None  # on SQLite: the process DuckDB runs in (see the module's docstring)

    @classmethod
    def open(cls, engine: Engine) -> Analytics | None:
        """An analytical engine over the store behind ``engine``, or None (see ``unavailable``)."""
        global unavailable
        kind = engine.dialect.name
        if kind not in EXTENSIONS:
            unavailable = f"no DuckDB extension reads {kind}"
            return None
        try:
            import duckdb
        except ImportError:
            unavailable = "DuckDB is not installed (pip install civicmoments[insights])"
            return None
        ext = extension_path(EXTENSIONS[kind], duckdb.__version__)
        if ext is None:
            unavailable = (f"the {EXTENSIONS[kind]} extension for DuckDB {duckdb.__version__} is not installed "
                           f"(pip install duckdb-extension-{EXTENSIONS[kind].replace('_', '-')}=={duckdb.__version__})")
            return None
        if kind == "sqlite":
            target = str(Path(engine.url.database).resolve())
        else:
            target = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        unavailable = None
        return cls(duckdb, ext, kind, target)

    def _connection(self):
        if self._conn is None:
            conn = self._duckdb.connect(config={
                "autoinstall_known_extensions": False, "autoload_known_extensions": False,
                "memory_limit": MEMORY_LIMIT, "threads": os.cpu_count() or 1,
                "temp_directory": str(Path(tempfile.gettempdir()) / "civicmoments-duckdb")})
            conn.execute("LOAD " + _quote(str(self.extension)))
            conn.execute("SET TimeZone = 'UTC'")  # the store's naive SQLite timestamps are UTC
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._child is not None:
                self._child.shutdown(cancel_futures=True)
                self._child = None

    def tallies(self, moment: str, versions: Sequence[str] | None, start: datetime | None, end: datetime | None,
                service: str | None, zero_touch_steps: Sequence[str], within_days: float | None,
                costs: UnitCosts, splits: Sequence[Split] = ((None, False),)) -> dict[Split, dict[str, Tally]]:
        """Tallies of the journeys of ``moment`` (of one of ``versions``; started in [start, end)),
        for each split ``(by, rest)`` asked for: ``(None, False)`` gives {"all": Tally};
        ``(by, False)`` a Tally per value of ``by`` ("version" or one of ``GROUPS``) and
        ``(by, True)`` one per value of everyone *outside* that value. Keys with no journeys are
        absent. The journeys' facts are worked out once for every split."""
        for by, _ in splits:
            if by is not None and by != "version" and by not in GROUPS:
                raise ValueError(f"{by!r} is not a group")
        if self.kind == "sqlite":
            from concurrent.futures.process import BrokenProcessPool

            with self._lock:
                if self._child is None:
                    import multiprocessing
                    from concurrent.futures import ProcessPoolExecutor

                    self._child = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
                child = self._child
            try:
                return child.submit(_tallies_in_child, str(self.extension), self.target, moment, versions, start,
                                    end, service, zero_touch_steps, within_days, costs, splits).result()
            except BrokenProcessPool as exc:
                with self._lock:
                    self._child = None
                raise AnalyticsError(f"the DuckDB process ended: {exc}") from None
        return self._tallies_here(moment, versions, start, end, service, zero_touch_steps, within_days, costs,
                                  splits)

    def _tallies_here(self, moment, versions, start, end, service, zero_touch_steps, within_days, costs,
                      splits) -> dict[Split, dict[str, Tally]]:
        with self._attached() as c:
            _facts(c, self.kind == "postgresql", moment, versions, start, end, service, zero_touch_steps, costs)
            return {split: _tally(c, split, within_days) for split in splits}

    def _attached(self):
        return _Attached(self)


class _Attached:
    """The store attached read-only as ``s`` for one call (under the lock: one DuckDB connection)."""

    def __init__(self, analytics: Analytics) -> None:
        self.a = analytics

    def __enter__(self):
        self.a._lock.acquire()
        try:
            c = self.a._connection()
            kind = "sqlite" if self.a.kind == "sqlite" else "postgres"
            try:
                c.execute(f"ATTACH {_quote(self.a.target)} AS s (TYPE {kind}, READ_ONLY)")
            except self.a._duckdb.Error as exc:  # its message may hold the address with its password
                raise AnalyticsError("DuckDB could not attach the store: "
                                     + _redact(str(exc), self.a.target)) from None
        except BaseException:
            self.a._lock.release()
            raise
        return c

    def __exit__(self, *exc) -> None:
        try:
            c = self.a._conn
            c.execute("DROP TABLE IF EXISTS facts")
            c.execute("DETACH DATABASE IF EXISTS s")
        finally:
            self.a._lock.release()


_IN_CHILD: dict[tuple[str, str], Analytics] = {}  # in the child process: one DuckDB per store


def _tallies_in_child(extension: str, target: str, *args):
    """``Analytics.tallies`` over a SQLite store, in the child process (its DuckDB kept between calls)."""
    found = _IN_CHILD.get((extension, target))
    if found is None:
        import duckdb

        found = _IN_CHILD[(extension, target)] = Analytics(duckdb, Path(extension), "sqlite", target)
    return found._tallies_here(*args)


class AnalyticsError(RuntimeError):
    """The analytical engine could not read the store; the message never holds its password."""


def _redact(message: str, target: str) -> str:
    """``message`` without the store's address or any password in it."""
    from sqlalchemy.engine import make_url

    message = message.replace(target, "<the store>")
    try:
        password = make_url(target).password
    except Exception:  # noqa: BLE001 - a SQLite path is not a URL
        password = None
    return message.replace(str(password), "***") if password else message


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tally(c, split: Split, within_days: float | None) -> dict[str, Tally]:
    by, rest = split
    if by is None:
        key, source = "'all'", "facts f"
    elif rest:
        key, source = "v.k", f"facts f JOIN (SELECT DISTINCT {by} AS k FROM facts) v ON f.{by} <> v.k"
    else:
        key, source = f"f.{by}", "facts f"
    cur = c.execute(_TALLY.format(key=key, source=source), [within_days])
    names = [d[0] for d in cur.description]
    out = {}
    for row in cur.fetchall():
        values = dict(zip(names, row, strict=True))
        out[values["k"]] = Tally(**{f.name: values[f.name] for f in fields(Tally)})
    return out


def _naive_utc(when: datetime) -> datetime:
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _facts(c, pg: bool, moment: str, versions: Sequence[str] | None, start: datetime | None, end: datetime | None,
           service: str | None, zero_touch_steps: Sequence[str], costs: UnitCosts) -> None:
    """One row per journey in the temporary table ``facts``: ``JourneyFacts`` in columns."""
    where, params = ["j.moment = ?"], [moment]
    if versions is not None:
        where.append(f"coalesce(j.moment_version, '{UNKNOWN_VERSION}') IN ({', '.join('?' * len(versions))})")
        params += list(versions)
    for bound, op in ((start, ">="), (end, "<")):
        if bound is not None:
            where.append(f"j.started_at {op} ?")
            params.append(bound if pg else _naive_utc(bound))
    channel_cost = " ".join(f"WHEN {_quote(ch)} THEN {int(p)}" for ch, p in sorted(costs.channel.items()))
    channel_cost = f"CASE h.channel {channel_cost} ELSE 0 END" if channel_cost else "0"
    zero_touch = ", ".join(_quote(s) for s in zero_touch_steps) or "NULL"
    sql = _FACTS.format(where=" AND ".join(where), channel_cost=channel_cost, zero_touch=zero_touch,
                        eligible="TRUE" if service else "FALSE")
    c.execute(sql, [*params, service or ""])


# The columns are JourneyFacts' (see InsightStore.journey_rows for the same facts in SQLAlchemy).
# Per-journey sums are made over each whole table and joined to the moment's journeys (cheaper
# than restricting each table first). Timestamps are compared as the store holds them (SQLite:
# naive UTC; PostgreSQL: with time zone); days are seconds / 86400, rounded to 4 places as there.
_FACTS = """
CREATE TEMP TABLE facts AS
WITH j0 AS (
    SELECT j.id, j.person, coalesce(j.moment_version, 'unknown') AS version, j.started_at,
           json_extract_string(j.state, ['$.outcome.duration_s', '$.outcome.confirmed.at']) AS o
    FROM s.journeys j WHERE {where}
), j AS (
    SELECT id, person, version, started_at, TRY_CAST(o[1] AS DOUBLE) AS duration_s, o[2] AS confirmed FROM j0
), q AS (
    SELECT journey_id AS id, sum(TRY_CAST(json_extract_string(detail, '$.questions') AS BIGINT)) AS questions
    FROM s.timeline WHERE kind IN ('step-started', 'step-done') GROUP BY 1
), m AS (
    SELECT journey_id AS id, count(*) AS contacts, min(created_at) AS first_at,
           count(*) FILTER (WHERE status IN ('delivered', 'sent') AND "position" = 0) AS first_channel
    FROM s.messages WHERE journey_id IS NOT NULL GROUP BY 1
), ch AS (
    SELECT m.journey_id AS id, count(*) AS messages, sum({channel_cost}) AS channel_pence
    FROM (SELECT DISTINCT message_id, channel FROM s.message_history WHERE status IN ('delivered', 'sent')) h
    JOIN s.messages m ON m.id = h.message_id WHERE m.journey_id IS NOT NULL GROUP BY 1
), e AS (
    SELECT journey_id AS id, count(*) FILTER (WHERE kind = 'share') AS partner_calls,
           bool_or(kind = 'grant') AS awarded, bool_or(kind = 'grant' AND step NOT IN ({zero_touch})) AS applied
    FROM s.outbox WHERE status = 'done' AND kind IN ('share', 'grant') GROUP BY 1
), c AS (
    SELECT c.journey_id AS id, count(*) AS cases, sum(coalesce(a.n, 0)) AS case_actions,
           count(*) FILTER (WHERE c.queue = 'decision-review' AND c.outcome IS NOT NULL) AS reviews,
           count(*) FILTER (WHERE c.queue = 'decision-review' AND c.outcome = 'overturned') AS overturned
    FROM s.cases c
    LEFT JOIN (SELECT case_id, count(*) AS n FROM s.case_timeline WHERE actor IS NOT NULL GROUP BY 1) a
           ON a.case_id = c.id
    WHERE c.journey_id IS NOT NULL GROUP BY 1
), r AS (
    SELECT j.id, count(*) FILTER (WHERE c.queue = 'correction') AS corrections,
           count(*) FILTER (WHERE c.queue = 'mandatory-reconsideration') AS reconsiderations
    FROM j JOIN s.cases c ON c.person_id = j.person AND c.opened_at >= j.started_at
    WHERE c.queue IN ('correction', 'mandatory-reconsideration') GROUP BY 1
), k AS (
    SELECT j.id, count(*) FILTER (WHERE k.state = 'given') AS given,
           count(*) FILTER (WHERE k.state = 'refused') AS refused,
           count(*) FILTER (WHERE k.state = 'withdrawn') AS withdrawn,
           count(*) FILTER (WHERE k.state = 'objected') AS objected
    FROM j JOIN s.consents k ON k.person_id = j.person AND k.at >= j.started_at GROUP BY 1
), g AS (
    SELECT j.id, count(*) AS gate_refusals
    FROM j JOIN s.access_log l ON l.person_id = j.person
    WHERE json_extract_string(l.body, '$.outcome') = 'refused' GROUP BY 1
), el AS (
    SELECT DISTINCT j.id FROM j JOIN s.eligibility_state es ON es.person_id = j.person
    WHERE {eligible} AND es.service = ? AND CAST(es.eligible AS BOOLEAN)
)
SELECT j.id, j.version,
       j.confirmed IS NOT NULL AND j.duration_s IS NOT NULL AS reached,
       CASE WHEN j.confirmed <> '' AND j.duration_s IS NOT NULL THEN round(j.duration_s / 86400, 4) END AS outcome_days,
       round(date_diff('microsecond', j.started_at, m.first_at) / 1e6 / 86400, 4) AS first_notice_days,
       coalesce(q.questions, 0) AS questions, coalesce(m.contacts, 0) AS contacts,
       coalesce(m.first_channel, 0) AS first_channel,
       coalesce(ch.messages, 0) AS messages, coalesce(ch.channel_pence, 0) AS channel_pence,
       coalesce(e.awarded, FALSE) AS awarded, coalesce(e.applied, FALSE) AS applied,
       coalesce(e.partner_calls, 0) AS partner_calls,
       coalesce(c.cases, 0) AS cases, coalesce(c.reviews, 0) AS reviews, coalesce(c.overturned, 0) AS overturned,
       coalesce(c.case_actions, 0) AS case_actions,
       coalesce(r.corrections, 0) AS corrections, coalesce(r.reconsiderations, 0) AS reconsiderations,
       coalesce(k.given, 0) AS given, coalesce(k.refused, 0) AS refused, coalesce(k.withdrawn, 0) AS withdrawn,
       coalesce(k.objected, 0) AS objected, coalesce(g.gate_refusals, 0) AS gate_refusals,
       el.id IS NOT NULL AS eligible,
       coalesce(gr.online, 'unknown') AS online, coalesce(gr.age_band, 'unknown') AS age_band,
       coalesce(gr.region, 'unknown') AS region, coalesce(gr.language, 'unknown') AS language
FROM j
LEFT JOIN q USING (id) LEFT JOIN m USING (id) LEFT JOIN ch USING (id) LEFT JOIN e USING (id)
LEFT JOIN c USING (id) LEFT JOIN r USING (id) LEFT JOIN k USING (id)
LEFT JOIN g USING (id) LEFT JOIN el USING (id)
LEFT JOIN s.journey_groups gr ON gr.journey_id = j.id
"""

# One row per key: domain.insights.Tally's fields. ``o``/``fn`` are the sorted times; median and
# nearest-rank percentiles are read from them by position (lists are 1-based).
_TALLY = """
WITH t AS (
    SELECT {key} AS k, count(*) AS journeys, count(*) FILTER (WHERE f.reached) AS reached,
           list_sort(coalesce(list(f.outcome_days) FILTER (WHERE f.reached AND f.outcome_days IS NOT NULL), [])) AS o,
           count(*) FILTER (WHERE f.reached AND f.outcome_days <= ?) AS outcome_within,
           count(*) FILTER (WHERE f.reached AND f.outcome_days <= 30) AS back_30,
           count(*) FILTER (WHERE f.reached AND f.outcome_days <= 90) AS back_90,
           count(*) FILTER (WHERE f.reached AND f.outcome_days <= 180) AS back_180,
           list_sort(coalesce(list(f.first_notice_days) FILTER (WHERE f.first_notice_days IS NOT NULL), [])) AS fn,
           sum(f.questions) AS asked, 0 AS known, sum(f.contacts) AS contacts, sum(f.messages) AS messages,
           sum(f.first_channel) AS first_channel, sum(f.channel_pence) AS channel_pence,
           count(*) FILTER (WHERE f.awarded) AS awarded,
           count(*) FILTER (WHERE f.awarded AND NOT f.applied AND f.cases = 0) AS zero_touch,
           sum(f.cases) AS cases, sum(f.case_actions) AS case_actions, sum(f.partner_calls) AS partner_calls,
           count(*) FILTER (WHERE f.given > 0) AS consents_given,
           count(*) FILTER (WHERE f.refused > 0) AS consents_refused,
           count(*) FILTER (WHERE f.withdrawn > 0) AS consents_withdrawn,
           count(*) FILTER (WHERE f.corrections > 0) AS corrections,
           count(*) FILTER (WHERE f.reconsiderations > 0) AS reconsiderations,
           count(*) FILTER (WHERE f.objected > 0) AS objected,
           count(*) FILTER (WHERE f.gate_refusals > 0) AS gate_refusals, 0 AS viewed_access,
           sum(f.reviews) AS reviews, sum(f.overturned) AS overturned,
           count(*) FILTER (WHERE f.eligible) AS eligible,
           count(*) FILTER (WHERE f.eligible AND f.awarded) AS eligible_awarded
    FROM {source} GROUP BY 1
)
SELECT * EXCLUDE (o, fn, asked, contacts, messages, first_channel, channel_pence, cases, case_actions,
                  partner_calls, reviews, overturned),
       CAST(asked AS BIGINT) AS asked, CAST(contacts AS BIGINT) AS contacts,
       CAST(messages AS BIGINT) AS messages, CAST(first_channel AS BIGINT) AS first_channel,
       CAST(channel_pence AS BIGINT) AS channel_pence, CAST(cases AS BIGINT) AS cases,
       CAST(case_actions AS BIGINT) AS case_actions, CAST(partner_calls AS BIGINT) AS partner_calls,
       CAST(reviews AS BIGINT) AS reviews, CAST(overturned AS BIGINT) AS overturned,
       len(o) AS outcome_n,
       CASE WHEN len(o) = 0 THEN NULL WHEN len(o) % 2 = 1 THEN o[len(o) // 2 + 1]
            ELSE (o[len(o) // 2] + o[len(o) // 2 + 1]) / 2 END AS outcome_median,
       o[greatest(1, CAST(ceil(0.9::DOUBLE * len(o)) AS BIGINT))] AS outcome_p90,
       len(fn) AS first_notice_n,
       CASE WHEN len(fn) = 0 THEN NULL WHEN len(fn) % 2 = 1 THEN fn[len(fn) // 2 + 1]
            ELSE (fn[len(fn) // 2] + fn[len(fn) // 2 + 1]) / 2 END AS first_notice_median,
       fn[greatest(1, CAST(ceil(0.95::DOUBLE * len(fn)) AS BIGINT))] AS first_notice_p95
FROM t
"""
