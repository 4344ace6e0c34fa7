"""The insights queries: one row of counts per journey of a moment, summed in SQL.

Each query groups by journey (or joins the journey's person) and the rows are stitched in
Python into ``domain.insights.JourneyFacts``. The same SQL runs on SQLite and PostgreSQL. This is
the reference path (and the one used without DuckDB); ``analytics.py`` works out the same facts
and their sums inside DuckDB for large stores (``self.analytics`` when it is installed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, distinct, func, literal, select, type_coerce
from sqlalchemy.engine import Engine

from .bulk import Bulk
from .schema import (
    access_log,
    case_timeline,
    cases,
    consents,
    eligibility_state,
    journey_groups,
    journeys,
    message_history,
    message_preferences,
    messages,
    outbox,
    timeline,
)
from .sql import utc

UNKNOWN_VERSION = "unknown"


class InsightStore:
    def __init__(self, engine: Engine, reader: Engine | None = None, analytics: bool = False) -> None:
        """``analytics``: compute with DuckDB reading the store when it is installed (setting
        ``CIVIC_INSIGHTS_ENGINE=duckdb``); otherwise, or without DuckDB, the SQL below is used."""
        self.engine, self.reader = engine, reader or engine
        self.bulk = Bulk(engine.dialect.name)
        from .analytics import Analytics

        self.analytics = Analytics.open(self.reader) if analytics else None

    def close(self) -> None:
        """Ends DuckDB's connection and, on SQLite, its process."""
        if self.analytics is not None:
            self.analytics.close()

    # -- what exists -----------------------------------------------------------------
    def versions(self, moment: str) -> dict[str, int]:
        """{version: journeys} for a moment (journeys from before versions were recorded: "unknown")."""
        v = func.coalesce(journeys.c.moment_version, literal(UNKNOWN_VERSION))
        with self.reader.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(
                select(v, func.count()).where(journeys.c.moment == moment).group_by(v))}

    # -- the groups people are split by ------------------------------------------------------
    def ungrouped(self, limit: int = 5000) -> list[tuple[str, str, datetime]]:
        """Journeys with no groups yet: (journey id, person, started_at)."""
        q = (select(journeys.c.id, journeys.c.person, journeys.c.started_at)
             .outerjoin(journey_groups, journey_groups.c.journey_id == journeys.c.id)
             .where(journey_groups.c.journey_id.is_(None)).limit(limit))
        with self.reader.connect() as conn:
            return [(r.id, r.person, utc(r.started_at)) for r in conn.execute(q)]

    def preferences(self, persons: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self.reader.connect() as conn:
            return {r.person_id: r.preferences for r in conn.execute(
                select(message_preferences).where(message_preferences.c.person_id.in_(list(persons))))}

    def add_groups(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            self.bulk.insert(conn, journey_groups, rows, ignore_conflicts=True)

    # -- one row per journey -------------------------------------------------------------------
    def journey_rows(self, moment: str, version: str | None, start: datetime | None, end: datetime | None,
                     service: str | None, zero_touch_steps: Sequence[str], ids: Sequence[str] | None = None,
                     conn=None) -> list[dict[str, Any]]:
        """Every journey of ``moment`` (of ``version``, started in [start, end); only ``ids``, all of
        ``moment``, when given) with its counts, as keyword arguments for ``JourneyFacts``; with ``ids``, each row
        also has "_id" and "_started" (its start, UTC). ``conn``: read in that connection's
        transaction rather than on the reader."""
        if conn is None:
            with self.reader.connect() as own:
                return self.journey_rows(moment, version, start, end, service, zero_touch_steps, ids, own)
        j = journeys
        mv = func.coalesce(j.c.moment_version, literal(UNKNOWN_VERSION))
        # with ``ids`` (all of ``moment``), by them alone: the planner then reads by key, not the moment's index
        where = [j.c.moment == moment] if ids is None else [j.c.id.in_(list(ids))]
        if version is not None:
            where.append(mv == version)
        if start is not None:
            where.append(j.c.started_at >= start)
        if end is not None:
            where.append(j.c.started_at < end)
        sel = select(j.c.id).where(*where).subquery("sel")
        base = (select(j.c.id, j.c.person, mv.label("version"), j.c.status, _raw(j.c.started_at),
                       j.c.state[("outcome", "duration_s")].as_float().label("duration_s"),
                       j.c.state[("outcome", "confirmed", "at")].as_string().label("confirmed"),
                       journey_groups.c.online, journey_groups.c.age_band, journey_groups.c.region,
                       journey_groups.c.language)
                .outerjoin(journey_groups, journey_groups.c.journey_id == j.c.id).where(*where))
        mine = select(j.c.id, j.c.person, j.c.started_at).where(*where).subquery("mine")
        out: dict[str, dict[str, Any]] = {}
        started: dict[str, datetime] = {}
        for r in conn.execute(base):
            started[r.id] = _when(r[4])
            out[r.id] = {
                "version": r.version, "status": r.status,
                "reached": r.confirmed is not None and r.duration_s is not None,
                "outcome_days": round(r.duration_s / 86400, 4) if r.duration_s is not None and r.confirmed else None,
                "online": r.online or "unknown", "age_band": r.age_band or "unknown",
                "region": r.region or "unknown", "language": r.language or "unknown",
                "_person": r.person,
            }
        if not out:
            return []
        # questions asked: the ask steps' "questions" on the timeline
        q = timeline.c.detail["questions"].as_integer()
        for jid, n in conn.execute(
                select(timeline.c.journey_id, func.sum(q)).where(
                    timeline.c.journey_id.in_(select(sel.c.id)),
                    timeline.c.kind.in_(("step-started", "step-done"))).group_by(timeline.c.journey_id)):
            if jid in out:
                out[jid]["questions"] = int(n or 0)
        # messages: contacts, the first message's time, delivered at the first channel
        reached = messages.c.status.in_(("delivered", "sent"))
        for jid, n, first_at, first_channel in conn.execute(
                select(messages.c.journey_id, func.count(), _raw(func.min(messages.c.created_at)),
                       func.sum(case((and_(reached, messages.c.position == 0), 1), else_=0)))
                .where(messages.c.journey_id.in_(select(sel.c.id))).group_by(messages.c.journey_id)):
            row = out[jid]
            row["contacts"], row["first_channel"] = n, int(first_channel or 0)
            if first_at is not None:
                row["first_notice_days"] = round((_when(first_at) - started[jid]).total_seconds() / 86400, 4)
        channels: dict[str, dict[str, int]] = defaultdict(dict)
        for jid, channel, n in conn.execute(
                select(messages.c.journey_id, message_history.c.channel, func.count(distinct(messages.c.id)))
                .join(message_history, message_history.c.message_id == messages.c.id)
                .where(messages.c.journey_id.in_(select(sel.c.id)),
                       message_history.c.status.in_(("delivered", "sent")))
                .group_by(messages.c.journey_id, message_history.c.channel)):
            channels[jid][channel] = n
        for jid, chs in channels.items():
            out[jid]["channels"] = tuple(sorted(chs.items()))
        # effects: partner calls, awards (and whether one needed the person's answer)
        for jid, step, kind in conn.execute(
                select(outbox.c.journey_id, outbox.c.step, outbox.c.kind)
                .where(outbox.c.journey_id.in_(select(sel.c.id)), outbox.c.status == "done",
                       outbox.c.kind.in_(("share", "grant")))):
            row = out[jid]
            if kind == "share":
                row["partner_calls"] = row.get("partner_calls", 0) + 1
            else:
                row["awarded"] = True
                if step not in zero_touch_steps:
                    row["applied"] = True
        # cases on the journey, officer actions on them, reviews of adverse decisions
        for jid, n, reviews, overturned in conn.execute(
                select(cases.c.journey_id, func.count(),
                       func.sum(case((and_(cases.c.queue == "decision-review", cases.c.outcome.is_not(None)), 1),
                                     else_=0)),
                       func.sum(case((and_(cases.c.queue == "decision-review", cases.c.outcome == "overturned"), 1),
                                     else_=0)))
                .where(cases.c.journey_id.in_(select(sel.c.id))).group_by(cases.c.journey_id)):
            out[jid].update(cases=n, reviews=int(reviews or 0), overturned=int(overturned or 0))
        for jid, n in conn.execute(
                select(cases.c.journey_id, func.count())
                .join(case_timeline, case_timeline.c.case_id == cases.c.id)
                .where(cases.c.journey_id.in_(select(sel.c.id)), case_timeline.c.actor.is_not(None))
                .group_by(cases.c.journey_id)):
            out[jid]["case_actions"] = n
        # the person's own requests during the journey: corrections, reconsiderations
        for jid, queue, n in conn.execute(
                select(mine.c.id, cases.c.queue, func.count())
                .join(cases, and_(cases.c.person_id == mine.c.person, cases.c.opened_at >= mine.c.started_at))
                .where(cases.c.queue.in_(("correction", "mandatory-reconsideration")))
                .group_by(mine.c.id, cases.c.queue)):
            out[jid]["corrections" if queue == "correction" else "reconsiderations"] = n
        # consents recorded during the journey, by state
        per: dict[str, dict[str, int]] = defaultdict(dict)
        for jid, state, n in conn.execute(
                select(mine.c.id, consents.c.state, func.count())
                .join(consents, and_(consents.c.person_id == mine.c.person, consents.c.at >= mine.c.started_at))
                .group_by(mine.c.id, consents.c.state)):
            per[jid][state] = n
        for jid, states in per.items():
            out[jid]["consents"] = tuple(sorted(states.items()))
            out[jid]["objected"] = states.get("objected", 0)
        # disclosures the gate refused about the person
        refused = access_log.c.body["outcome"].as_string() == "refused"
        for jid, n in conn.execute(
                select(mine.c.id, func.count())
                .join(access_log, access_log.c.person_id == mine.c.person)
                .where(refused).group_by(mine.c.id)):
            out[jid]["gate_refusals"] = n
        # take-up: eligible for the moment's service by the sweep
        if service:
            for (jid,) in conn.execute(
                    select(mine.c.id).join(eligibility_state, and_(
                        eligibility_state.c.person_id == mine.c.person, eligibility_state.c.service == service,
                        eligibility_state.c.eligible.is_(True)))):
                out[jid]["eligible"] = True
        for jid, row in out.items():
            row.pop("_person")
            if ids is not None:
                row["_id"], row["_started"] = jid, started[jid]
        return list(out.values())


def _raw(column):
    """A timestamp as the driver gives it (SQLite: text; PostgreSQL: a datetime), without
    SQLAlchemy's per-row conversion, which costs more than the query over a million rows."""
    return type_coerce(column, String)


def _when(value) -> datetime:
    return utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))
