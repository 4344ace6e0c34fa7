"""The ``share`` effect: data for a partner goes through the privacy gate, then to its transport.

Consent and the agreement are checked when the share is performed, not when it was
queued, so a withdrawal blocks shares already waiting in the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...engine.gate import PrivacyGate, Refusal
from ...engine.ports import Effect, EffectProvider, EffectResult


class GatedShareProvider:
    def __init__(self, gate: PrivacyGate, organisations, transport: EffectProvider) -> None:
        self.gate, self.organisations, self.transport = gate, organisations, transport

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        results: list[EffectResult | None] = []
        outgoing: list[tuple[int, Effect]] = []
        for e in effects:
            spec = e.payload["spec"]
            org = self.organisations.organisation(spec["with"])
            if org is None:
                results.append(EffectResult.fail(f"no partner organisation named {spec['with']!r}"))
                continue
            outcome = self.gate.disclose(org["id"], spec["purpose"], [e.person], spec["attributes"])[0]
            if isinstance(outcome, Refusal):
                results.append(EffectResult.fail(f"{type(outcome.error).__name__}: {outcome.error}"))
                continue
            payload = {**e.payload, "subject": outcome.subject, "data": outcome.data}
            outgoing.append((len(results), Effect(**{**e.__dict__, "payload": payload, "person": outcome.subject})))
            results.append(None)
        if outgoing:
            for (i, _), r in zip(outgoing, self.transport.perform([e for _, e in outgoing]), strict=True):
                results[i] = r
        return results  # type: ignore[return-value]  # every slot is filled by now
