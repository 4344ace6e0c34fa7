"""The digital-lifetime sweep: for the whole population at once, the milestones crossed since
the last sweep and the changes in eligibility, as events in the inbox.

It reads people a batch at a time and runs one vectorised OpenFisca simulation per batch,
never one person at a time. Event ids are derived from the person, the milestone or
service, and the date, so a second sweep for the same date emits nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import numpy as np

from ..domain.events import ENGINE_SOURCE
from ..rules.catalogue import Service
from ..rules.openfisca import RulesEngine

MILESTONE_REACHED = "civic.milestone.reached"
FOR_PARENTS = "immunisation_"  # milestones of a child that go to a parent in the household
ELIGIBILITY_CHANGED = "civic.eligibility.changed"


class Sweeper:
    def __init__(self, rules: RulesEngine, catalogue: Mapping[str, Service], registry_store, inbox_store,
                 milestones: list[str] | None = None) -> None:
        self.rules, self.catalogue = rules, catalogue
        self.registry, self.inbox = registry_store, inbox_store
        self.milestones = milestones or sorted(
            n for n, v in rules.tbs.variables.items()
            if n.endswith("_date") and v.value_type is date and n in self._person_variables())
        self.eligibility = {s.id: s.eligibility for s in catalogue.values() if s.eligibility}

    def _person_variables(self) -> set[str]:
        return {n for n, v in self.rules.tbs.variables.items() if v.entity.is_person}

    def compute(self, count: int, inputs: Mapping[str, np.ndarray], since: date, until: date,
                households: list[str] | None = None, roles: list[str] | None = None):
        """Vectorised: which milestone falls in (since, until], and each eligibility on ``until``.

        A household-level service (Child Benefit) is attributed to the household's adults."""
        if roles is not None:  # the registry's roles (parent, partner, ...) as the rules' two: adult or child
            roles = ["child" if r == "child" else "adult" for r in roles]
        sim = self.rules.simulate(count, until.isoformat(), inputs, households=households, roles=roles)
        adults = np.array([r != "child" for r in roles]) if roles is not None else np.ones(count, dtype=bool)
        lo, hi = np.datetime64(since), np.datetime64(until)
        crossed = {}
        for name in self.milestones:
            when = sim.calculate(name, until.isoformat())
            crossed[name] = (when, (when > lo) & (when <= hi))
        eligible = {}
        for sid, variable in self.eligibility.items():
            values = sim.calculate(variable, until.isoformat())
            if not self.rules.tbs.variables[variable].entity.is_person:
                values = values[sim.household.members_entity_id] & adults
            eligible[sid] = values
        return crossed, eligible

    def run(self, until: date, since: date | None = None, batch: int = 50_000,
            progress: Callable[[int, int], None] | None = None,
            part: tuple[int, int] | None = None) -> dict[str, int]:
        """Sweep everyone, or with ``part`` (k, n) only part k of n (households kept whole); returns
        the people swept and the milestone and eligibility events newly emitted."""
        since = since or until - timedelta(days=1)
        emitted = {"people": 0, "milestones": 0, "eligibility": 0}
        total = self.registry.count_people()
        for ids, columns, households, roles in self.registry.input_batches(self.rules.inputs, batch, part):
            crossed, eligible = self.compute(len(ids), self.rules.input_arrays(columns), since, until,
                                             households, roles)
            events: list[dict[str, Any]] = []
            carer = _carers(households, roles)
            for name, (when, hit) in crossed.items():
                for i in np.flatnonzero(hit):
                    data = {"milestone": name, "date": str(when[i])[:10]}
                    subject = ids[i]
                    if name.startswith(FOR_PARENTS) and carer.get(i) is not None:  # a baby's vaccinations: the parent hears
                        subject, data = ids[carer[i]], {**data, "child": ids[i]}
                    events.append(self._event(MILESTONE_REACHED, f"{ids[i]}:{name}", subject, data))
            in_order = len(ids) > 1 and all(a < b for a, b in zip(ids, ids[1:], strict=False))  # a page of people: read a range
            previous = self.registry.eligibility_states(ids, (ids[0], ids[-1]) if in_order else None)
            index = {pid: i for i, pid in enumerate(ids)}
            before = {sid: np.full(len(ids), -1, dtype=np.int8) for sid in eligible}  # -1: never said
            for (pid, sid), ok in previous.items():
                if sid in before and pid in index:
                    before[sid][index[pid]] = int(ok)
            changes = []
            for sid, values in eligible.items():
                now = np.asarray(values, dtype=bool)
                # a change is a new yes, or a yes become no; never eligible and still not says nothing
                for i in np.flatnonzero((before[sid] != now) & ~((before[sid] == -1) & ~now)):
                    pid, now_ok = ids[i], bool(now[i])
                    changes.append({"person_id": pid, "service": sid, "eligible": now_ok, "since": until})
                    events.append(self._event(ELIGIBILITY_CHANGED, f"{pid}:{sid}:{until}:{now_ok}", pid,
                                              {"service": sid, "eligible": now_ok, "date": until.isoformat()}))
            self.registry.set_eligibility_states(changes)
            outcomes = self.inbox.accept(events, _midnight(until)) if events else []
            for e, outcome in zip(events, outcomes, strict=True):
                if outcome == "accepted":  # a repeat sweep finds the same ids: nothing new
                    emitted["milestones" if e["type"] == MILESTONE_REACHED else "eligibility"] += 1
            emitted["people"] += len(ids)
            if progress:
                progress(emitted["people"], total)
        return emitted

    def run_parts(self, leases, job: str, parts: int, holder: str, clock, lease_seconds: float,
                  until: date, since: date | None = None, batch: int = 50_000) -> dict[str, int]:
        """Take parts of the sweep for ``until`` (``leases``: ``adapters/store/partitions.PartitionLeases``)
        until none is left, sweeping each; returns the totals of the parts this caller did, with
        ``parts`` their count. Several processes may run this at once: each part is done by one."""
        totals = {"people": 0, "milestones": 0, "eligibility": 0, "parts": 0}
        while (part := leases.take(job, parts, holder, clock.now(), lease_seconds)) is not None:
            result = self.run(until, since, batch, part=(part, parts))
            if leases.done(job, part, holder, clock.now(), result):
                totals = {k: totals[k] + result.get(k, 0) for k in totals} | {"parts": totals["parts"] + 1}
        return totals

    @staticmethod
    def _event(type_: str, ident: str, subject: str, data: dict) -> dict[str, Any]:
        return {"source": ENGINE_SOURCE, "event_id": f"{type_}:{ident}", "type": type_, "subject": subject,
                "time": _midnight(date.fromisoformat(data["date"])), "data": data, "digest": "-", "org_id": None}


def _carers(households: list[str] | None, roles: list[str] | None) -> dict[int, int | None]:
    """For each child in a batch, the position of the first adult of their household (or None)."""
    if households is None or roles is None:
        return {}
    first: dict[str, int] = {}
    for i, (h, r) in enumerate(zip(households, roles, strict=True)):
        if r != "child":
            first.setdefault(h, i)
    return {i: first.get(h) for i, (h, r) in enumerate(zip(households, roles, strict=True)) if r == "child"}


def _midnight(day: date):
    from datetime import datetime, timezone

    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
