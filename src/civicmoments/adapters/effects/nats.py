"""Delivery of subscribers' events on NATS JetStream (``nats-py``), when ``CIVIC_NATS_URL`` is set.

Each organisation's permitted events are published to its own subject space on one stream,
``<prefix>.out.<organisation id>.<event type>`` on ``<PREFIX>_OUT`` (prefix ``civic`` unless
``CIVIC_NATS_PREFIX`` says otherwise) (created, file storage, if it is
not there). The message is the event's ``data`` as the privacy gate built it, with the
CloudEvents attributes as ``ce-*`` headers (the NATS protocol binding for CloudEvents, binary
mode). A publish counts as delivered once JetStream acknowledges it (stored, replicated as
the stream says); a subscriber reads with its own durable consumer, whose acknowledgement,
redelivery and maximum-deliveries settings are its own. An unreachable server or a missing
acknowledgement is a retry: nothing waiting is lost while NATS is down.

nats-py is asyncio; this transport keeps one event loop in a thread of its own so the
engine's synchronous relay can use it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ...engine.outbound import Fence, Parcel, stopped
from ...engine.ports import EffectResult
from ...engine.subscriptions import UNAVAILABLE


def servers(url: str) -> list[str]:
    """``CIVIC_NATS_URL`` may name several servers of a cluster, separated by commas."""
    return [u.strip() for u in url.split(",") if u.strip()]


class NatsTransport:
    def __init__(self, url: str, prefix: str = "civic", timeout: float = 5.0, replicas: int = 1) -> None:
        self.url, self.timeout, self.replicas = url, timeout, replicas
        self.stream, self.subjects = f"{prefix.upper()}_OUT", f"{prefix}.out.>"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="nats", daemon=True)
        self.thread.start()
        self.nc: Any = None
        self.js: Any = None

    def _run(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout or self.timeout * 3)

    async def _connect(self) -> None:
        if self.nc is not None and self.nc.is_connected:
            return
        import nats
        from nats.js.api import StreamConfig
        from nats.js.errors import BadRequestError

        self.nc = await nats.connect(servers(self.url), connect_timeout=self.timeout, max_reconnect_attempts=1,
                                     allow_reconnect=False)
        self.js = self.nc.jetstream(timeout=self.timeout)
        try:
            await self.js.add_stream(StreamConfig(name=self.stream, subjects=[self.subjects],
                                                  num_replicas=self.replicas))
        except BadRequestError:  # there already, perhaps with settings an operator chose: keep them
            pass

    async def _publish(self, items: Sequence[tuple[str, dict[str, str], bytes]]) -> list[EffectResult]:
        try:
            await self._connect()
        except Exception as exc:  # noqa: BLE001 - any failure to reach NATS is a passing one
            self.nc = None
            return [EffectResult.retry(f"{UNAVAILABLE} NATS at {self.url} is not reachable: "
                                       f"{type(exc).__name__}")] * len(items)
        gate = asyncio.Semaphore(256)  # acknowledgements awaited together, not one after another

        async def one(subject: str, headers: dict[str, str], body: bytes) -> EffectResult:
            async with gate:
                try:
                    # JetStream drops a second publish with the same Nats-Msg-Id inside its duplicate
                    # window (2 minutes by default): a retry after a lost acknowledgement is stored once.
                    ack = await self.js.publish(subject, body, stream=self.stream, headers={
                        **headers, "Nats-Msg-Id": headers["ce-id"] + ":" + headers.get("ce-civicsubscription", "")})
                    return EffectResult.done({"stream": ack.stream, "seq": ack.seq})
                except Exception as exc:  # noqa: BLE001 - no acknowledgement: try again later
                    return EffectResult.retry(f"{UNAVAILABLE} no JetStream acknowledgement for {subject}: "
                                              f"{type(exc).__name__}")

        return list(await asyncio.gather(*(one(*item) for item in items)))

    def publish(self, items: Sequence[tuple[str, dict[str, str], bytes]]) -> list[EffectResult]:
        try:
            return self._run(self._publish(items), self.timeout * (3 + len(items)))
        except Exception as exc:  # noqa: BLE001 - a stuck loop is a passing fault too
            return [EffectResult.retry(f"{UNAVAILABLE} NATS publish did not finish: {type(exc).__name__}")] * len(items)

    def routed(self, routes: Mapping[str, tuple[str, dict[str, str]]]) -> _Routed:
        return _Routed(self, dict(routes))

    def close(self) -> None:
        if self.nc is not None:
            try:
                self._run(self.nc.close())
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)


class _Routed:
    """One batch: each parcel to ``<sink>.<event type>``, with its CloudEvents headers."""

    def __init__(self, transport: NatsTransport, routes: dict[str, tuple[str, dict[str, str]]]) -> None:
        self.transport, self.routes = transport, routes

    def deliver(self, parcels: Sequence[Parcel], fence: Fence) -> list[EffectResult]:
        out: list[EffectResult | None] = [None] * len(parcels)
        with fence.sending_all(parcels) as batch:  # the batch's fence is held until its bodies have left
            items, where = [], []
            for i, p in enumerate(parcels):
                why = batch.enter(i)
                if why is not None:
                    out[i] = stopped(why)
                    continue
                sink, headers = self.routes[p.reference]
                items.append((f"{sink}.{headers['ce-type']}", dict(headers), p.body))
                where.append(i)
            for i, r in zip(where, self.transport.publish(items) if items else [], strict=True):
                out[i] = r
        return out  # type: ignore[return-value]  # every slot is filled
