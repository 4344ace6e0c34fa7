"""Impact and insights: the measures of a moment, per version, period and group.

``Insights.report(moment, version=None, start=None, end=None, group=None)`` returns::

    {"moment", "title", "version", "versions": {version: journeys}, "period": {"from", "to"},
     "journeys": n, "empty": bool, "reason": str | None,
     "measures": {area: {measure: value}},       # value: number, None (no data) or Suppressed
     "groups": {group value: {...}} | None,       # with ``group``: the split, flags included
     "costs": {"source", "valid"}}

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
        self.moment(moment_id)
        if version is not None:
            known = self.store.versions(moment_id)
            if version not in known:
                raise UnknownVersionError(
                    f"moment {moment_id!r} has not run at version {version!r}; it has run at "
                    f"{', '.join(sorted(known)) or 'no version yet'}")
        spec = self.settings.moments.get(moment_id, None)
        return m.rows_of(self.store.journey_rows(moment_id, version, start, end,
                                                 spec.service if spec else None,
                                                 spec.zero_touch_steps if spec else ()))

    def _within(self, moment_id: str) -> float | None:
        obj = self.moment(moment_id).objective
        return obj.within.total_seconds() / 86400 if obj and obj.within else None

    def report(self, moment_id: str, version: str | None = None, start: datetime | None = None,
               end: datetime | None = None, group: str | None = None) -> dict[str, Any]:
        if group is not None and group not in m.GROUPS:
            raise UnknownGroupError(f"{group!r} is not a group; choose one of {', '.join(m.GROUPS)}")
        moment = self.moment(moment_id)
        self.refresh_groups()
        rows = self.rows(moment_id, version, start, end)
        within = self._within(moment_id)
        out: dict[str, Any] = {
            "moment": moment_id, "title": moment.title, "version": version,
            "versions": self.store.versions(moment_id),
            "period": {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None},
            "journeys": m.count_cell(len(rows)), "empty": not rows, "reason": None, "measures": None,
            "groups": None, "group": group,
            "costs": {"source": self.settings.costs_source, "valid": self.settings.costs_valid},
        }
        if not rows:
            out["reason"] = "no journeys of this moment started in this period" + (
                f" at version {version}" if version else "")
            return out
        if len(rows) < m.MIN_CELL:
            out["reason"] = f"{m.SUPPRESSED_REASON} journeys: every measure is withheld"
        out["measures"] = m.measures(rows, within, self.settings.costs)
        if group is not None:
            out["groups"] = m.split(rows, group, within, self.settings.costs, self.settings.thresholds)
        return out

    def compare(self, moment_id: str, before: str, after: str, start: datetime | None = None,
                end: datetime | None = None) -> dict[str, Any]:
        """Two versions side by side on every measure, with the journeys of each."""
        self.refresh_groups()
        a = self.rows(moment_id, before, start, end)
        b = self.rows(moment_id, after, start, end)
        return {"moment": moment_id, "from": before, "to": after,
                "journeys": {"from": m.count_cell(len(a)), "to": m.count_cell(len(b))},
                "measures": m.compare(a, b, self._within(moment_id), self.settings.costs)}


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
