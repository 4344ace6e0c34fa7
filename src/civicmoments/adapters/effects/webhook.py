"""Webhook delivery of CloudEvents to subscribers (HTTP protocol binding 1.0, binary mode).

The body is the event's ``data`` exactly as the privacy gate built it; the CloudEvents
attributes travel as ``ce-*`` headers. Each request is signed as shares are: the platform's
Ed25519 signature over ``<timestamp>.<body>`` in ``X-Civic-Signature``, with the Unix time in
``X-Civic-Timestamp`` (the subscriber fetches the key from ``/v1/keys``). A 2xx answer is
delivered; 408, 425, 429 and 5xx, a timeout or a refused connection are retried; any other
4xx will never work and is dead-lettered with the status and the start of the answer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from ...engine.outbound import Fence, Parcel, stopped
from ...engine.ports import EffectResult
from .http import RETRYABLE_STATUS


class WebhookTransport:
    def __init__(self, signer=None, timeout: float = 10.0, concurrency: int = 16) -> None:
        self.signer = signer
        self.client = httpx.Client(timeout=timeout, follow_redirects=False,
                                   limits=httpx.Limits(max_connections=concurrency * 4,
                                                       max_keepalive_connections=concurrency * 4))
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhooks")

    def routed(self, routes: Mapping[str, tuple[str, dict[str, str]]]) -> _Routed:
        return _Routed(self, dict(routes))

    def post(self, url: str, headers: dict[str, str], body: bytes) -> EffectResult:
        headers = dict(headers)
        if self.signer is not None:
            stamp = str(int(time.time()))
            headers.update({"X-Civic-Timestamp": stamp,
                            "X-Civic-Signature": self.signer.sign(stamp.encode() + b"." + body)})
        try:
            resp = self.client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            return EffectResult.retry(f"{type(exc).__name__}: {exc}")
        if resp.is_success:
            return EffectResult.done(None)
        error = f"HTTP {resp.status_code} from {url}: {resp.text[:300]}"
        if resp.status_code in RETRYABLE_STATUS:
            return EffectResult.retry(error)
        return EffectResult.fail(error)

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.client.close()


class _Routed:
    """One batch's transport: each parcel goes to the sink and headers its reference names."""

    def __init__(self, hooks: WebhookTransport, routes: dict[str, tuple[str, dict[str, str]]]) -> None:
        self.hooks, self.routes = hooks, routes

    def _one(self, parcel: Parcel, fence: Fence) -> EffectResult:
        with fence.sending(parcel) as why:
            if why is not None:
                return stopped(why)
            url, headers = self.routes[parcel.reference]
            return self.hooks.post(url, headers, parcel.body)

    def deliver(self, parcels: Sequence[Parcel], fence: Fence) -> list[EffectResult]:
        return list(self.hooks.pool.map(lambda p: self._one(p, fence), parcels))
