"""Deliver effects to an outside system by HTTP POST, with the idempotency key as a header.

When a signer is given, each request carries the platform's Ed25519 signature over
``<timestamp>.<body>`` (headers ``X-Civic-Timestamp`` and ``X-Civic-Signature``), so the
receiver knows it came from the platform and was not replayed later.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson

from ...engine.ports import Effect, EffectProvider, EffectResult

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class HttpProvider:
    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0,
                 concurrency: int = 8, signer=None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url, self.signer = url, signer
        self.client = httpx.Client(timeout=timeout, headers=headers)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="effects")

    def _one(self, e: Effect) -> EffectResult:
        body = orjson.dumps({"key": e.key, "kind": e.kind, "journey": e.journey, "person": e.person,
                             "step": e.step, "attempt": e.attempts, "payload": e.payload})
        headers = {"Idempotency-Key": e.key, "Content-Type": "application/json"}
        if self.signer is not None:
            stamp = str(int(time.time()))
            headers.update({"X-Civic-Timestamp": stamp,
                            "X-Civic-Signature": self.signer.sign(stamp.encode() + b"." + body)})
        try:
            resp = self.client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            return EffectResult.retry(f"{type(exc).__name__}: {exc}")
        if resp.is_success:
            try:
                return EffectResult.done(resp.json() if resp.content else None)
            except ValueError:
                return EffectResult.done(None)
        error = f"HTTP {resp.status_code} from {self.url}"
        if resp.status_code in RETRYABLE_STATUS:
            return EffectResult.retry(error)
        return EffectResult.fail(f"{error}: {resp.text[:300]}")

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        return list(self.pool.map(self._one, effects))

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.client.close()


class PartnerRouter:
    """Sends each share to its partner's own endpoint; shares for partners without one go to ``default``."""

    def __init__(self, partners: Mapping[str, EffectProvider], default: EffectProvider) -> None:
        self.partners, self.default = dict(partners), default

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(effects):
            groups[e.payload.get("spec", {}).get("with", "")].append(i)
        out: list[EffectResult | None] = [None] * len(effects)
        for partner, idx in groups.items():
            provider = self.partners.get(partner, self.default)
            for i, r in zip(idx, provider.perform([effects[i] for i in idx]), strict=True):
                out[i] = r
        return out  # type: ignore[return-value]
