"""The ``share`` effect: the privacy gate builds each body from the agreement, the outbound
boundary hands it to the partner's transport and logs the hash of the bytes.

Consent and the agreement are checked when the share is performed, not when it was
queued, so a withdrawal blocks shares already waiting in the outbox; they are checked
again immediately before each body leaves (the fence in ``engine/outbound.py``). A
partner's reply is checked against the pack's schema for that partner, and any subject
it names is dropped: only the platform re-identifies, from the reply reference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...engine.gate import PrivacyGate, Refusal
from ...engine.outbound import Outbound, Parcel, Transport
from ...engine.ports import Effect, EffectResult


class GatedShareProvider:
    def __init__(self, gate: PrivacyGate, organisations, transport: Transport, outbound: Outbound,
                 reply_schemas: Mapping[str, Any] | None = None) -> None:
        self.gate, self.organisations, self.transport, self.outbound = gate, organisations, transport, outbound
        self.reply_schemas = {k.lower(): v for k, v in (reply_schemas or {}).items()}

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        results: list[EffectResult | None] = [None] * len(effects)
        outgoing: list[tuple[int, Parcel]] = []
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
            made = self.gate.parcels(org["id"], partner, purpose, [effects[i].person for i in idx], list(attributes),
                                     [effects[i].key for i in idx])
            for i, parcel in zip(idx, made, strict=True):
                if isinstance(parcel, Refusal):
                    results[i] = EffectResult.fail(f"{type(parcel.error).__name__}: {parcel.error}")
                else:
                    outgoing.append((i, replace(parcel, origin=(effects[i].journey, effects[i].step))))
        if outgoing:
            done = self.outbound.hand_over([p for _, p in outgoing], self.transport)
            for (i, parcel), r in zip(outgoing, done, strict=True):
                results[i] = self._reply(parcel, r)
        return results  # type: ignore[return-value]  # every slot is filled by now

    def _reply(self, parcel: Parcel, r: EffectResult) -> EffectResult:
        """Check a partner's reply against its schema; keep no subject from it."""
        if r.verdict.value != "done" or r.result is None:
            return r
        reply = r.result
        if not isinstance(reply, dict):
            return EffectResult.fail(f"the reply from {parcel.recipient_name} is not a JSON object")
        schema = self.reply_schemas.get(parcel.recipient_name.lower())
        if schema is not None:
            from jsonschema import Draft202012Validator

            errors = sorted(Draft202012Validator(schema).iter_errors(reply), key=lambda e: list(e.absolute_path))
            if errors:
                where = "/" + "/".join(str(p) for p in errors[0].absolute_path)
                return EffectResult.fail(f"the reply from {parcel.recipient_name} does not match its schema "
                                         f"at {where}: {errors[0].message}")
        return EffectResult.done({k: v for k, v in reply.items() if k not in ("subject", "person", "reference")})
