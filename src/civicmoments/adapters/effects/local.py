"""Embedded providers. Later issues replace them with the privacy gate, OpenFisca, channels, cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...domain.clock import Clock
from ...engine.outbound import Fence, Parcel, stopped
from ...engine.ports import Effect, EffectResult
from ...packs.loader import SimpleRule
from ...rules.cel import ConditionEvaluationError


class RecordingProvider:
    """Records each effect once per idempotency key in the store's ``deliveries`` table."""

    def __init__(self, store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        self.store.record_deliveries(effects, self.clock.now())
        return [EffectResult.done() for _ in effects]

    def deliver(self, parcels: Sequence[Parcel], fence: Fence) -> list[EffectResult]:
        """Shares with no partner endpoint: the body is recorded here, as a stand-in partner would get it."""
        out: list[EffectResult] = []
        keep: list[Effect] = []
        for p in parcels:
            with fence.sending(p) as why:
                if why is not None:
                    out.append(stopped(why))
                    continue
                keep.append(Effect(key=p.reference, journey=p.origin[0], person=p.person, step=p.origin[1],
                                   kind="share", payload={"body": p.body.decode()}, max_attempts=1,
                                   backoff_seconds=0, id=0, attempts=1))
                out.append(EffectResult.done())
        if keep:
            self.store.record_deliveries(keep, self.clock.now())
        return out


class SimpleRulesProvider:
    """Decides with the pack's CEL formulas, over the trigger event and earlier results."""

    def __init__(self, rules: Mapping[str, SimpleRule], clock=None) -> None:
        self.rules, self.clock = rules, clock

    def decide(self, effect: Effect) -> EffectResult:
        context: dict[str, Any] = {"event": effect.payload.get("event", {}),
                                   "results": effect.payload.get("results", {})}
        day = self.clock.now().date().isoformat() if self.clock is not None else None
        outputs, references = {}, {}
        for name in effect.payload["spec"]["variables"]:
            rule = self.rules.get(name)
            if rule is None:
                return EffectResult.fail(f"no rule computes {name!r}")
            formula, gap = rule.on(day)
            if formula is None:  # no silent carry-forward: a day outside the figures is unknown
                words = {"not-published": "the rates for that day are not published yet",
                         "no-rules": "no rules in force on that day"}[gap]
                return EffectResult.done({"status": "unknown", "reason": gap, "outputs": {}, "references": {},
                                          "adverse": False, "all_gold": False, "inputs": [], "ask": [],
                                          "explanation": f"Not decided: {words}.", "on": day})
            try:
                outputs[name] = formula.value(context)
            except ConditionEvaluationError as exc:
                return EffectResult.fail(str(exc))
            references[name] = rule.reference
        # The report is the employer's, not a register: never all gold, so never a zero-touch award;
        # a "no" is adverse and waits for a person, as with the OpenFisca rules.
        adverse = any(v is False for v in outputs.values())
        return EffectResult.done({"status": "pending-review" if adverse else "decided", "outputs": outputs,
                                  "references": references, "adverse": adverse, "all_gold": False,
                                  "inputs": [], "ask": []})

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        return [self.decide(e) for e in effects]
