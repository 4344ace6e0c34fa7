"""Effect providers the platform performs itself: decisions, the career profile, grants and records.

- ``decide``: with the OpenFisca rules, from the person's registry facts, when every
  variable is an OpenFisca variable and the person is known; the result says whether
  every input was gold (then an award can be automatic) and what is missing. Otherwise
  the pack's simple CEL rules decide from the trigger event.
- ``record`` with ``profile: career``: the career profile from the registry: job
  history, occupation, skills, location, the services the person uses, and what is
  missing for matching.
- ``grant`` and ``record`` with ``facts``: facts the platform now knows (a benefit
  awarded, a benefit stopped), recorded in the registry with the platform as source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..domain.clock import Clock
from ..domain.organisations import Organisation
from .ports import Effect, EffectProvider, EffectResult

PLATFORM = Organisation("civicmoments", "Civic Moments", (), ("facts:*",))
CAREER = ("occupation", "skills", "employer", "home_area", "aspirations", "travel_radius_miles",
          "highest_qualification")
SERVICES = ("jsa_claimant", "child_benefit_claimant", "jsa_claim_days")


class DecideProvider:
    def __init__(self, services: Callable[[], Any], simple: EffectProvider, registry, clock: Clock) -> None:
        self.services, self.simple, self.registry, self.clock = services, simple, registry, clock

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        known = self.registry.store.existing(sorted({e.person for e in effects}))
        out: list[EffectResult | None] = [None] * len(effects)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, e in enumerate(effects):
            variables = tuple(e.payload["spec"]["variables"])
            if e.person in known and all(v in self.services().rules.tbs.variables for v in variables):
                groups.setdefault(variables, []).append(i)
            else:
                out[i] = self.simple.perform([e])[0]
        for variables, idx in groups.items():  # one vectorised simulation per batch
            persons = [effects[i].person for i in idx]
            profiles = self.registry.profiles(persons)
            decided = self.services().rules.decide(persons, [profiles[p] for p in persons], list(variables),
                                                   self.clock.now().date().isoformat(),
                                                   households=[f"h{n}" for n in range(len(persons))],
                                                   roles=["adult"] * len(persons))
            for i, d in zip(idx, decided, strict=True):
                all_gold = bool(d.inputs) and not d.ask and all(x["tier"] == "gold" for x in d.inputs)
                out[i] = EffectResult.done({"status": d.status, "outputs": d.outputs, "inputs": d.inputs,
                                            "ask": d.ask, "explanation": d.explanation,
                                            "references": d.references, "adverse": d.adverse,
                                            "all_gold": all_gold, "on": d.on})
        return out  # type: ignore[return-value]


class RegistryStepsProvider:
    """``grant`` and ``record`` steps: facts into the registry, and the career profile."""

    def __init__(self, registry, recorder: EffectProvider, clock: Clock,
                 consents: Callable[[], Any] | None = None) -> None:
        self.registry, self.recorder, self.clock = registry, recorder, clock
        self.consents = consents  # for consent given through an organisation, e.g. at hiring

    @staticmethod
    def facts(spec: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        """The facts a step records: fixed ones, and ones copied from the trigger event's data."""
        data = (event or {}).get("data") or {}
        copied = {attr: data[key] for attr, key in (spec.get("from_event") or {}).items() if data.get(key) is not None}
        return {**copied, **(spec.get("record") or {})}

    @staticmethod
    def valid_from(spec: dict[str, Any], event: dict[str, Any]) -> str | None:
        """The day recorded facts hold from: the trigger's date field named by ``valid_from``
        (a new job's ``start_date``), else when they are recorded."""
        day = ((event or {}).get("data") or {}).get(spec["valid_from"]) if spec.get("valid_from") else None
        return f"{day}T00:00:00Z" if isinstance(day, str) and len(day) == 10 else None

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        self.recorder.perform(effects)  # every grant and record is also kept, once per key
        known = self.registry.store.existing(sorted({e.person for e in effects}))
        writes = []
        for e in effects:  # facts first, so that the career profile includes them
            facts = self.facts(e.payload.get("spec", {}), e.payload.get("event"))
            if facts and e.person in known:
                since = self.valid_from(e.payload.get("spec", {}), e.payload.get("event"))
                writes.append((e.person, [{"attribute": k, "value": v, "basis": "derived", "tier": "gold",
                                           "valid_from": since} for k, v in facts.items()]))
        if writes:
            self.registry.record_many(PLATFORM, writes)
        careers = [e.person for e in effects if e.payload.get("spec", {}).get("profile") == "career"
                   and e.person in known]
        profiles = self.careers(careers) if careers else {}
        out = []
        for e in effects:
            spec = e.payload.get("spec", {})
            recorded = sorted(self.facts(spec, e.payload.get("event"))) if e.person in known else []
            result: dict[str, Any] = {"recorded": recorded}
            if spec.get("profile") == "career":
                result.update(profiles.get(e.person, {"known": [], "missing": list(CAREER)}))
            if spec.get("consent") and e.person in known and self.consents is not None:
                receipt = self.consents().give(e.person, spec["consent"], channel="employer")
                result["consent"] = {"purpose": spec["consent"], "record": receipt["record_id"]}
            out.append(EffectResult.done(result))
        return out

    def careers(self, persons: Sequence[str]) -> dict[str, dict[str, Any]]:
        wanted = list(CAREER) + list(SERVICES)
        facts = self.registry.store.facts_of(persons, ["employer"])
        profiles = self.registry.profiles(persons, only=wanted)
        out = {}
        for person in persons:
            profile = profiles.get(person, {})
            history = sorted(({"employer": f.value, "from": f.valid_from.date().isoformat(), "source": f.source}
                              for f in facts.get(person, [])), key=lambda h: h["from"])
            out[person] = {"known": sorted(a for a in CAREER if a in profile),
                           "missing": [a for a in CAREER if a not in profile],
                           "employment_history": history,
                           "services": sorted(a for a in SERVICES if a in profile and profile[a].value)}
        return out
