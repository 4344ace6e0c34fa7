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
from datetime import date
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

    def _openfisca(self, e: Effect) -> bool:
        variables = e.payload["spec"]["variables"]
        if self.registry.store.person(e.person) is None:
            return False
        return all(v in self.services().rules.tbs.variables for v in variables)

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        out = []
        for e in effects:
            if not self._openfisca(e):
                out.append(self.simple.perform([e])[0])
                continue
            d = self.services().decide(e.person, list(e.payload["spec"]["variables"]), self.today())
            all_gold = bool(d.inputs) and not d.ask and all(i["tier"] == "gold" for i in d.inputs)
            out.append(EffectResult.done({"status": d.status, "outputs": d.outputs, "inputs": d.inputs,
                                          "ask": d.ask, "explanation": d.explanation,
                                          "references": d.references, "adverse": d.adverse, "all_gold": all_gold,
                                          "on": d.on}))
        return out

    def today(self) -> date:
        return self.clock.now().date()


class RegistryStepsProvider:
    """``grant`` and ``record`` steps: facts into the registry, and the career profile."""

    def __init__(self, registry, recorder: EffectProvider, clock: Clock) -> None:
        self.registry, self.recorder, self.clock = registry, recorder, clock

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        self.recorder.perform(effects)  # every grant and record is also kept, once per key
        return [self._one(e) for e in effects]

    def _one(self, e: Effect) -> EffectResult:
        spec = e.payload.get("spec", {})
        known = self.registry.store.person(e.person) is not None
        if spec.get("profile") == "career":
            return EffectResult.done(self.career(e.person) if known else {"known": [], "missing": list(CAREER)})
        facts = spec.get("record") or spec.get("facts") or {}
        if facts and known:
            self.registry.record(PLATFORM, e.person, [{"attribute": k, "value": v, "basis": "derived", "tier": "gold"}
                                                      for k, v in facts.items()])
        return EffectResult.done({"recorded": sorted(facts) if known else []})

    def career(self, person: str) -> dict[str, Any]:
        facts = self.registry.store.facts_of([person], list(CAREER) + list(SERVICES))[person]
        profile = self.registry.profiles([person], only=list(CAREER) + list(SERVICES))[person]
        history = sorted(({"employer": f.value, "from": f.valid_from.date().isoformat(), "source": f.source}
                          for f in facts if f.attribute == "employer"), key=lambda h: h["from"])
        return {"known": sorted(a for a in CAREER if a in profile),
                "missing": [a for a in CAREER if a not in profile],
                "employment_history": history,
                "services": sorted(a for a in SERVICES if a in profile and profile[a].value)}
