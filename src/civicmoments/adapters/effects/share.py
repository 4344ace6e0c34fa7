"""The ``share`` effect: data for a partner goes through the privacy gate, then to its transport.

Consent and the agreement are checked when the share is performed, not when it was
queued, so a withdrawal blocks shares already waiting in the outbox.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ...engine.gate import PrivacyGate, Refusal
from ...engine.ports import Effect, EffectProvider, EffectResult


class GatedShareProvider:
    def __init__(self, gate: PrivacyGate, organisations, transport: EffectProvider) -> None:
        self.gate, self.organisations, self.transport = gate, organisations, transport

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        results: list[EffectResult | None] = [None] * len(effects)
        outgoing: list[tuple[int, Effect]] = []
        groups: dict[tuple[str, str, tuple[str, ...]], list[int]] = defaultdict(list)
        for i, e in enumerate(effects):  # one gate call per partner, purpose and attribute list
            spec = e.payload["spec"]
            groups[(spec["with"], spec["purpose"], tuple(spec["attributes"]))].append(i)
        for (partner, purpose, attributes), idx in groups.items():
            org = self.organisations.organisation(partner)
            if org is None:
                for i in idx:
                    results[i] = EffectResult.fail(f"no partner organisation named {partner!r}")
                continue
            persons = [effects[i].person for i in idx]
            for i, outcome in zip(idx, self.gate.disclose(org["id"], purpose, persons, list(attributes)), strict=True):
                e = effects[i]
                if isinstance(outcome, Refusal):
                    results[i] = EffectResult.fail(f"{type(outcome.error).__name__}: {outcome.error}")
                    continue
                payload = {**e.payload, "subject": outcome.subject, "data": outcome.data}
                outgoing.append((i, Effect(**{**e.__dict__, "payload": payload, "person": outcome.subject})))
        if outgoing:
            for (i, _), r in zip(outgoing, self.transport.perform([e for _, e in outgoing]), strict=True):
                results[i] = r
        return results  # type: ignore[return-value]  # every slot is filled by now
