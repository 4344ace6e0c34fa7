"""Impact and insights: the measures of a moment, per version, period and group.

``Insights.report(moment, version=None, start=None, end=None, group=None)`` returns::

    {"moment", "title", "version", "versions": {version: journeys}, "period": {"from", "to"},
     "journeys": n, "empty": bool, "reason": str | None,
     "measures": {area: {measure: value}},       # value: number, None (no data) or Suppressed
     "groups": {group value: {...}} | None,       # with ``group``: the split, flags included
     "costs": {"source", "valid"}}

``"engine"`` says what computed the measures: "projection" (the default: the sums and indexed
facts kept as journeys move, ``adapters/store/facts.py``; a report first brings them up to date),
"duckdb" (reading the store, when asked for and the ``insights`` extra is installed) or "sql"
(queries on the store, summed in Python by the reference functions). A period whose ends are not
midnights (UTC) is read with SQL, since the projection sums by day.

Errors: ``UnknownMomentError`` and ``UnknownVersionError`` name what was asked for.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from typing import Any

import numpy as np

from ..domain import insights as m
from ..domain.clock import Clock
from ..packs.insights import InsightSettings, load_insights


class UnknownMomentError(LookupError):
    """No moment of that id in the pack."""


class UnknownVersionError(LookupError):
    """The moment has never run at that version."""


class UnknownGroupError(ValueError):
    """Not one of the groups people are split by."""


class Insights:
    def __init__(self, store, pack, registry, clock: Clock, settings: InsightSettings | None = None,
                 facts=None) -> None:
        """``facts``: the projection (``adapters.store.facts.FactStore``), or None to read with SQL."""
        self.store, self.pack, self.registry, self.clock, self.facts = store, pack, registry, clock, facts
        self.settings = settings or load_insights(pack.root / "insights.yaml")

    # -- the groups and the projection -----------------------------------------------------
    def refresh_groups(self, batch: int = 5000) -> int:
        """Band every journey not yet banded (online, age at its start, home area, language);
        returns how many were banded. Only bands are kept, never the facts themselves."""
        done = 0
        while rows := self.store.ungrouped(batch):
            out = self._bands(rows)
            self.store.add_groups(out)
            done += len(out)
        return done

    def _bands(self, rows: list[tuple[str, str, datetime]]) -> list[dict[str, Any]]:
        """``journey_groups`` rows for (journey id, person, started_at) rows."""
        persons = sorted({p for _, p, _ in rows})
        profiles = self.registry.profiles(persons, only=["date_of_birth", "home_area"])
        prefs = self.store.preferences(persons)
        out = []
        for jid, person, started in rows:
            prof, pref = profiles.get(person, {}), prefs.get(person) or {}
            dob = prof.get("date_of_birth")
            age = _age(dob.value, started.date()) if dob is not None else None
            area = prof.get("home_area")
            out.append({"journey_id": jid, "online": "not-online" if pref.get("offline") else "online",
                        "age_band": m.age_band(age), "region": str(area.value)[:100] if area else "unknown",
                        "language": str(pref.get("language") or "en")})
        return out

    def refresh(self, progress=None) -> int:
        """Bring the projection up to date (band and recompute every journey changed since the
        last refresh); returns how many journeys were recomputed. ``progress(done, pending)``
        after each batch. Without the projection, bands new journeys only."""
        if self.facts is None:
            return self.refresh_groups()
        specs = {mid: (self.settings.moments[mid].service, tuple(self.settings.moments[mid].zero_touch_steps))
                 if mid in self.settings.moments else (None, ()) for mid in self.pack.moments}
        return self.facts.refresh(specs, self._bands, progress=progress)

    def versions(self, moment_id: str) -> dict[str, int]:
        """{version: journeys} of a moment (call after ``refresh`` for the projection's view)."""
        return self.facts.versions(moment_id) if self.facts is not None else self.store.versions(moment_id)

    # -- the measures ---------------------------------------------------------------------
    def moment(self, moment_id: str):
        found = self.pack.moments.get(moment_id)
        if found is None:
            raise UnknownMomentError(f"no moment {moment_id!r}; the pack has {', '.join(sorted(self.pack.moments))}")
        return found

    def rows(self, moment_id: str, version: str | None = None, start: datetime | None = None,
             end: datetime | None = None) -> list[m.JourneyFacts]:
        """One ``JourneyFacts`` per journey, read with SQL (the reference path)."""
        self._check_version(moment_id, version)
        spec = self.settings.moments.get(moment_id, None)
        return m.rows_of(self.store.journey_rows(moment_id, version, start, end,
                                                 spec.service if spec else None,
                                                 spec.zero_touch_steps if spec else ()))

    def _check_version(self, moment_id: str, version: str | None) -> None:
        self.moment(moment_id)
        if version is not None:
            known = self.versions(moment_id)
            if version not in known:
                raise UnknownVersionError(
                    f"moment {moment_id!r} has not run at version {version!r}; it has run at "
                    f"{', '.join(sorted(known)) or 'no version yet'}")

    @property
    def engine(self) -> str:
        """What computes the measures: "duckdb" (the analytical engine reading the store),
        "projection" (the facts and sums kept as journeys move) or "sql" (SQL on the store, summed
        in Python)."""
        if self.store.analytics is not None:
            return self.store.analytics.name
        return "projection" if self.facts is not None else "sql"

    def tallies(self, moment_id: str, versions: list[str] | None, start: datetime | None, end: datetime | None,
                splits: tuple[tuple[str | None, bool], ...] = ((None, False),)) -> dict:
        """{(by, rest): {key: Tally}} (see ``Analytics.tallies``) from DuckDB when it is installed,
        else from the rows read with SQL and ``domain.insights.tally``: the same figures."""
        spec = self.settings.moments.get(moment_id, None)
        service, steps = (spec.service, spec.zero_touch_steps) if spec else (None, ())
        within, costs = self._within(moment_id), self.settings.costs
        if self.store.analytics is not None:
            from ..adapters.store.analytics import AnalyticsError

            try:
                return self.store.analytics.tallies(moment_id, versions, start, end, service, steps, within,
                                                    costs, splits)
            except AnalyticsError as exc:  # DuckDB cannot read this store: SQL gives the same figures
                from ..logs import get

                get("civic.insights").warning("analytics unavailable; using SQL", reason=str(exc))
                self.store.analytics.close()
                self.store.analytics = None
        if self.facts is not None and (days := _days(start, end)) is not None:
            return self._projected(moment_id, versions, start, end, days, within, costs, splits)
        rows: list[m.JourneyFacts] = []
        for v in versions or [None]:
            rows += m.rows_of(self.store.journey_rows(moment_id, v, start, end, service, steps))
        out: dict = {}
        for by, rest in splits:
            if by is None:
                out[(by, rest)] = {"all": m.tally(rows, within, costs)} if rows else {}
                continue
            keys = sorted({getattr(r, by) for r in rows})
            out[(by, rest)] = {k: m.tally([r for r in rows if (getattr(r, by) != k) == rest], within, costs)
                               for k in keys}
        return out

    def _projected(self, moment_id: str, versions: list[str] | None, start: datetime | None,
                   end: datetime | None, days: tuple[str | None, str | None], within: float | None,
                   costs: m.UnitCosts, splits) -> dict:
        """``tallies`` from the projection: sums from the cells, order statistics by position in
        the facts' indexes (no period and no group) or from the sorted values read once."""
        facts, out, ordered = self.facts, {}, {}
        total = None
        for by, rest in splits:
            sums = facts.sums(moment_id, versions, days, by)
            if rest:
                total = total or facts.sums(moment_id, versions, days, None).get("all")
                sums = {k: {c: total[c] - v[c] for c in m.CELL_SUMS} for k, v in sums.items()}
            indexed = (start is None and end is None and not rest
                       and (by == "version" or (by is None and (versions is None or len(versions) == 1))))
            found = {}
            for key, s in sums.items():
                if indexed:
                    v = key if by == "version" else versions[0] if versions else None
                    at_o, upto = facts.at("outcome_days", moment_id, v), facts.upto("outcome_days", moment_id, v)
                    at_n = facts.at("first_notice_days", moment_id, v)
                else:
                    vals = []
                    for column in ("outcome_days", "first_notice_days"):
                        if (column, by) not in ordered:
                            ordered[(column, by)] = facts.ordered(column, moment_id, versions, start, end, by)
                        labels, values = ordered[(column, by)]
                        vals.append(values if labels is None else values[(labels != key) if rest else
                                                                          (labels == key)])
                    o, n = vals
                    at_o, at_n = (lambda i, a=o: float(a[i])), (lambda i, a=n: float(a[i]))
                    upto = (lambda d, a=o: int(np.searchsorted(a, d, side="right")))
                found[key] = m.tally_from(s, at_o, upto, at_n, within, costs)
            out[(by, rest)] = found
        return out

    def _within(self, moment_id: str) -> float | None:
        obj = self.moment(moment_id).objective
        return obj.within.total_seconds() / 86400 if obj and obj.within else None

    def report(self, moment_id: str, version: str | None = None, start: datetime | None = None,
               end: datetime | None = None, group: str | None = None) -> dict[str, Any]:
        if group is not None and group not in m.GROUPS:
            raise UnknownGroupError(f"{group!r} is not a group; choose one of {', '.join(m.GROUPS)}")
        moment = self.moment(moment_id)
        self.refresh()
        versions = self.versions(moment_id)
        if version is not None and version not in versions:
            self._check_version(moment_id, version)
        splits = ((None, False),) + (((group, False), (group, True)) if group else ())
        found = self.tallies(moment_id, [version] if version is not None else None, start, end, splits)
        total = found[(None, False)].get("all")
        n = total.journeys if total else 0
        within = self._within(moment_id)
        out: dict[str, Any] = {
            "moment": moment_id, "title": moment.title, "version": version,
            "versions": versions,
            "period": {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None},
            "journeys": m.count_cell(n), "empty": not n, "reason": None, "measures": None,
            "groups": None, "group": group,
            "costs": {"source": self.settings.costs_source, "valid": self.settings.costs_valid},
            "engine": self.engine,
        }
        if not n:
            out["reason"] = "no journeys of this moment started in this period" + (
                f" at version {version}" if version else "")
            return out
        if n < m.MIN_CELL:
            out["reason"] = f"{m.SUPPRESSED_REASON} journeys: every measure is withheld"
        out["measures"] = m.measures_of(total, within, self.settings.costs)
        if group is not None:
            out["groups"] = m.split_of(found[(group, False)], found[(group, True)], within, self.settings.costs,
                                       self.settings.thresholds)
        return out

    def compare(self, moment_id: str, before: str, after: str, start: datetime | None = None,
                end: datetime | None = None) -> dict[str, Any]:
        """Two versions side by side on every measure, with the journeys of each."""
        self.moment(moment_id)
        self.refresh()
        known = self.versions(moment_id)
        for v in (before, after):
            if v not in known:
                self._check_version(moment_id, v)
        found = self.tallies(moment_id, [before, after], start, end, (("version", False),))[("version", False)]
        within, costs = self._within(moment_id), self.settings.costs
        a, b = found.get(before, m.Tally()), found.get(after, m.Tally())
        return {"moment": moment_id, "from": before, "to": after,
                "journeys": {"from": m.count_cell(a.journeys), "to": m.count_cell(b.journeys)},
                "measures": m.compare_of(m.measures_of(a, within, costs), m.measures_of(b, within, costs)),
                "engine": self.engine}


def report_csv(report: dict[str, Any]) -> str:
    """One line per (group, area, measure, value); suppressed cells read "fewer than 10"."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["moment", "version", "group", "group_value", "area", "measure", "value"])
    version = report.get("version") or "all"
    for area, values in (report.get("measures") or {}).items():
        for name, value in values.items():
            w.writerow([report["moment"], version, "all", "all", area, name, m.shown(value)])
    for value_name, cell in (report.get("groups") or {}).items():
        if cell["measures"] is None:
            w.writerow([report["moment"], version, report["group"], value_name, "", "people", m.shown(cell["people"])])
            continue
        for area, values in cell["measures"].items():
            for name, value in values.items():
                w.writerow([report["moment"], version, report["group"], value_name, area, name, m.shown(value)])
    return buf.getvalue()


def _age(dob: Any, on: date) -> int | None:
    try:
        born = date.fromisoformat(str(dob)[:10])
    except ValueError:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _days(start: datetime | None, end: datetime | None) -> tuple[str | None, str | None] | None:
    """A period's ends as the days the projection sums by (ISO dates, UTC), or None when an end is
    not a midnight (UTC)."""
    out = []
    for t in (start, end):
        if t is None:
            out.append(None)
            continue
        u = t.astimezone(timezone.utc) if t.tzinfo else t
        if (u.hour, u.minute, u.second, u.microsecond) != (0, 0, 0, 0):
            return None
        out.append(u.date().isoformat())
    return out[0], out[1]
