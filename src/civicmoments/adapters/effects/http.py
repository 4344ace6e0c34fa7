"""Deliver effects to an outside system by HTTP POST, with the idempotency key as a header.

Shares arrive as parcels (``deliver``): the body the privacy gate built is posted as it is,
with the parcel's opaque reference as the ``Idempotency-Key``, and only after the fence
says it may still leave. Other effects (``perform``, for ``CIVIC_EFFECTS_URL``) are posted
as ``{key, kind, step, attempt, payload}`` and each is logged by the outbound boundary with
the hash of its bytes.

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

from ...domain.clock import iso
from ...engine.outbound import Fence, Parcel, handover_entry, stopped
from ...engine.ports import Effect, EffectResult, Verdict

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class HttpProvider:
    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0,
                 concurrency: int = 8, signer=None, outbound=None, clock=None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url, self.signer, self.outbound, self.clock = url, signer, outbound, clock
        self.client = httpx.Client(timeout=timeout, headers=headers)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="effects")

    def _post(self, key: str, body: bytes) -> EffectResult:
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
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
        try:  # a problem document the caller may act on (a slot taken, with the free ones)
            problem = resp.json() if resp.headers.get("content-type", "").endswith("json") else None
        except ValueError:
            problem = None
        return EffectResult(Verdict.FAIL, problem, f"{error}: {resp.text[:300]}")

    @staticmethod
    def effect_body(e: Effect) -> bytes:
        return orjson.dumps({"key": e.key, "kind": e.kind, "journey": e.journey, "person": e.person,
                             "step": e.step, "attempt": e.attempts, "payload": e.payload})

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        bodies = [self.effect_body(e) for e in effects]
        results = list(self.pool.map(self._post, [e.key for e in effects], bodies))
        if self.outbound is not None:  # the effects service is outside: each body is a hand-over
            at = iso(self.clock.now())
            self.outbound.record([
                handover_entry(at, f"effects:{self.url}", e.payload.get("spec", {}).get("purpose") or f"{e.kind}-step",
                               e.person, f"effect:{e.kind}", sorted(e.payload), body, delivery=r.verdict.value)
                for e, body, r in zip(effects, bodies, results, strict=True)])
        return results

    def deliver(self, parcels: Sequence[Parcel], fence: Fence) -> list[EffectResult]:
        """Post each parcel that may still leave, ``concurrency`` at a time. The batch is checked at
        the fence together, just before the first body leaves; each parcel looks again for a
        withdrawal just before its own post, and is let go at the fence once it is answered."""
        with fence.sending_all(parcels) as batch:
            def one(i: int) -> EffectResult:
                with batch.sending(i) as why:
                    return stopped(why) if why is not None else self._post(parcels[i].reference, parcels[i].body)

            return list(self.pool.map(one, range(len(parcels))))

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.client.close()


def reservations_url(profiles_url: str) -> str:
    """A partner's reservation endpoint, beside its profile endpoint (``.../v1/profiles`` -> ``.../v1/reservations``)."""
    return profiles_url.rsplit("/", 1)[0] + "/reservations"


class PartnerRouter:
    """Sends each share to its partner's own endpoint; shares for partners without one go to ``default``."""

    def __init__(self, partners: Mapping[str, HttpProvider], default) -> None:
        self.partners, self.default = dict(partners), default

    def deliver(self, parcels: Sequence[Parcel], fence: Fence) -> list[EffectResult]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(parcels):
            groups[p.recipient_name].append(i)
        out: list[EffectResult | None] = [None] * len(parcels)
        for partner, idx in groups.items():
            transport = self.partners.get(partner, self.default)
            for i, r in zip(idx, transport.deliver([parcels[i] for i in idx], fence), strict=True):
                out[i] = r
        return out  # type: ignore[return-value]
