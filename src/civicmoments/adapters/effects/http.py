"""Deliver effects to an outside system by HTTP POST, with the idempotency key as a header."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from ...engine.ports import Effect, EffectResult

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class HttpProvider:
    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0,
                 concurrency: int = 8) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self.client = httpx.Client(timeout=timeout, headers=headers)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="effects")

    def _one(self, e: Effect) -> EffectResult:
        body = {"key": e.key, "kind": e.kind, "journey": e.journey, "person": e.person,
                "step": e.step, "attempt": e.attempts, "payload": e.payload}
        try:
            resp = self.client.post(self.url, json=body, headers={"Idempotency-Key": e.key})
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
        return EffectResult.fail(error)

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        return list(self.pool.map(self._one, effects))

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.client.close()
