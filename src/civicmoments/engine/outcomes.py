"""Confirmed outcomes: a moment's objective counts only once a person has confirmed it.

A journey that reaches its objective (job-loss: ``job-started``) completes and records its
outcome with the time it took. That report is one organisation's word; where it ends a
benefit, a decision maker confirms it (back-in-work's ``review``). A ``record`` step with
``confirm_outcome: MOMENT`` marks the person's newest completed journey of that moment as
confirmed (``outcome.confirmed``: when, by which journey, case and officer) and writes
``outcome-confirmed`` on its timeline. The moment's outcome measure counts only journeys
whose outcome is confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.clock import Clock
from .ports import Effect, EffectProvider, EffectResult, Verdict


def _case(results: dict[str, Any]) -> dict[str, Any]:
    """The resolved case among a journey's step results, if any: its id, outcome and officer."""
    for result in results.values():
        if isinstance(result, dict) and result.get("case") and result.get("outcome"):
            return {k: result.get(k) for k in ("case", "outcome", "officer")}
    return {}


class ConfirmOutcomes:
    """Wraps the ``record`` provider: after the facts are recorded, confirms the outcome named."""

    def __init__(self, inner: EffectProvider, store, clock: Clock) -> None:
        self.inner, self.store, self.clock = inner, store, clock

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        results = self.inner.perform(effects)
        for e, r in zip(effects, results, strict=True):
            moment = (e.payload.get("spec") or {}).get("confirm_outcome")
            if moment and r.verdict is Verdict.DONE:
                detail = {"journey": e.journey, "step": e.step, **_case(e.payload.get("results") or {})}
                confirmed = self.store.confirm_outcome(e.person, moment, detail, self.clock.now())
                if isinstance(r.result, dict):
                    r.result["confirmed"] = confirmed
        return results
