"""Impact and insights: the measures of a moment, per version, period and group.

``Insights.report(moment, version=None, start=None, end=None, group=None)`` returns::

    {"moment", "title", "version", "versions": {version: journeys}, "period": {"from", "to"},
     "journeys": n, "empty": bool, "reason": str | None,
     "measures": {area: {measure: value}},       # value: number, None (no data) or Suppressed
     "groups": {group value: {...}} | None,       # with ``group``: the split, flags included
     "costs": {"source", "valid"}}

``"engine"`` says what computed the measures: "duckdb" (reading the store, when the ``insights``
extra is installed) or "sql" (queries on the store, summed in Python by the reference functions).

Errors: ``UnknownMomentError`` and ``UnknownVersionError`` name what was asked for.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

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
    def __init__(self, store, pack, registry, clock: Clock, settings: InsightSettings | None = None) -> None:
        self.store, self.pack, self.registry, self.clock = store, pack, registry, clock
        self.settings = settings or load_insights(pack.root / "insights.yaml")

    # -- the groups -----------------------------------------------------------------------
    def refresh_groups(self, batch: int = 5000) -> int:
        """Band every journey not yet banded (online, age at its start, home area, language);
        returns how many were banded. Only bands are kept, never the facts themselves."""
        done = 0
        while rows := self.store.ungrouped(batch):
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
            self.store.add_groups(out)
            done += len(out)
        return done

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
            known = self.store.versions(moment_id)
            if version not in known:
                raise UnknownVersionError(
                    f"moment {moment_id!r} has not run at version {version!r}; it has run at "
                    f"{', '.join(sorted(known)) or 'no version yet'}")

    @property
    def engine(self) -> str:
        """What computes the measures: "duckdb" (the analytical engine reading the store) or "sql"
        (SQL on the store, summed in Python; when DuckDB is not installed)."""
        return self.store.analytics.name if self.store.analytics is not None else "sql"

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

    def _within(self, moment_id: str) -> float | None:
        obj = self.moment(moment_id).objective
        return obj.within.total_seconds() / 86400 if obj and obj.within else None

    def report(self, moment_id: str, version: str | None = None, start: datetime | None = None,
               end: datetime | None = None, group: str | None = None) -> dict[str, Any]:
        if group is not None and group not in m.GROUPS:
            raise UnknownGroupError(f"{group!r} is not a group; choose one of {', '.join(m.GROUPS)}")
        moment = self.moment(moment_id)
        versions = self.store.versions(moment_id)
        if version is not None and version not in versions:
            self._check_version(moment_id, version)
        self.refresh_groups()
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
        known = self.store.versions(moment_id)
        for v in (before, after):
            if v not in known:
                self._check_version(moment_id, v)
        self.refresh_groups()
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
