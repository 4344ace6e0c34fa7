"""Services for a person: eligible now (ranked), becoming eligible (with the date), and not
eligible (hidden unless asked, with the reason). Every answer is a Decision with its why."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from ..rules.catalogue import Service
from ..rules.openfisca import Decision, RulesEngine
from .errors import NotFoundError
from .registry import Registry

WEEKS_A_YEAR = 52
PER_YEAR = {"week": WEEKS_A_YEAR, "month": 12, "year": 1}
DELIVERY_RANK = {"automatic": 0, "offer": 1, "inform": 2}


class Services:
    def __init__(self, rules: RulesEngine, catalogue: Mapping[str, Service], registry: Registry) -> None:
        self.rules, self.catalogue, self.registry = rules, catalogue, registry
        self._cache: dict[tuple, dict[str, Decision]] = {}

    def service(self, service_id: str) -> Service:
        found = self.catalogue.get(service_id)
        if found is None:
            raise NotFoundError(f"no service {service_id!r}; the catalogue has {', '.join(self.catalogue)}")
        return found

    def decide(self, person: str, variables: list[str], on: date) -> Decision:
        """Decide for a person within their household (the person first, then the others)."""
        self.registry.require(person)
        members = self.registry.store.households_of(person)
        others = [m for m in members if m["person_id"] != person]
        own_role = next((m["role"] for m in members if m["person_id"] == person), "adult")
        people = [person] + [m["person_id"] for m in others]
        roles = ["child" if r == "child" else "adult" for r in [own_role] + [m["role"] for m in others]]
        profiles = self.registry.profiles(people)
        decided = self.rules.decide(people, [profiles[p] for p in people], variables, on.isoformat(),
                                    households=["h"] * len(people), roles=roles)
        return decided[0]

    def decisions(self, person: str, on: date) -> dict[str, Decision]:
        """Every service's decision for a person on a day. The same facts on the same day give the
        same decisions, so they are kept until a fact about the person (or their household) changes."""
        members = [m["person_id"] for m in self.registry.store.households_of(person)] or [person]
        key = (person, on, self.registry.store.facts_version(members))
        found = self._cache.get(key)
        if found is None:
            found = {s.id: self.decide(person, s.variables, on) for s in self.catalogue.values()}
            self._cache[key] = found
            while len(self._cache) > 10_000:
                self._cache.pop(next(iter(self._cache)))
        return found

    def explain(self, person: str, service_id: str, on: date) -> Decision:
        return self.decide(person, self.service(service_id).variables, on)

    def for_person(self, person: str, on: date, include_not_eligible: bool = False) -> dict[str, Any]:
        now, soon, not_now = [], [], []
        today = on.isoformat()
        for sid, d in self.decisions(person, on).items():
            s = self.catalogue[sid]
            entry: dict[str, Any] = {"service": sid, "name": s.name, "agency": s.agency,
                                     "description": s.description, "delivery": s.delivery,
                                     "screener": s.screener, "apply": s.apply}
            if d.status == "unknown":
                not_now.append({**entry, "reason": d.explanation, "ask": d.ask})
                continue
            eligible = bool(d.outputs.get(s.eligibility, True)) if s.eligibility else True
            starts = d.outputs.get(s.from_date) if s.from_date else None
            ends = d.outputs.get(s.until_date) if s.until_date else None
            if eligible and ends is not None and ends < today:
                not_now.append({**entry, "reason": f"{s.name} ended on {ends}"})
            elif eligible and starts is not None and s.relevant_for_days is not None and \
                    (date.fromisoformat(starts) + timedelta(days=s.relevant_for_days)).isoformat() < today:
                not_now.append({**entry, "reason": f"available since {starts}; rarely needed this long after"})
            elif eligible and starts is not None and starts > today:
                soon.append({**entry, "from": starts})
            elif eligible:
                amount = d.outputs.get(s.amount) if s.amount else None
                if amount is not None:
                    entry.update(amount=amount, per=s.amount_per)
                entry["value_per_year"] = round((amount or 0) * PER_YEAR.get(s.amount_per, 1), 2)
                now.append(entry)
            else:
                not_now.append({**entry, "reason": d.explanation, "pending_review": d.adverse})
        # Awards before screeners (a screener is a check, not money), then by value.
        now.sort(key=lambda e: (e["screener"], -e["value_per_year"], DELIVERY_RANK[e["delivery"]], e["name"]))
        soon.sort(key=lambda e: e["from"])
        result: dict[str, Any] = {"person": person, "on": today, "eligible": now, "becoming_eligible": soon,
                                  "not_eligible_count": len(not_now)}
        if include_not_eligible:
            result["not_eligible"] = not_now
        return result
