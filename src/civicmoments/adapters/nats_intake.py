"""Intake on NATS JetStream: organisations publish CloudEvents to their own intake subject.

An organisation publishes a structured-mode CloudEvent (JSON) to ``<prefix>.in.<organisation
id>``, with its bearer token in the ``Authorization`` header (``Bearer <token>``, the same
credential as over HTTP; an operator may also give each organisation a NATS user allowed to
publish only there). The platform reads the stream ``<PREFIX>_IN`` with one durable pull
consumer, shared by every process that runs it (each message goes to one of them), with
explicit acknowledgement, a 30 s acknowledgement wait and at most 5 deliveries; the stream is
replicated on ``CIVIC_NATS_REPLICAS`` nodes, so a node lost takes no message with it.

Each message goes through the same checks as ``POST /v1/events`` (``Intake.submit``:
authentication, source ownership, scope, schema, authority, idempotency on source and id).
It is acknowledged only once its outcome is stored, so a crash redelivers it, and the inbox's
idempotency makes the redelivery a duplicate. A message that cannot be taken in (oversized,
not JSON, no or a wrong credential, a credential of another organisation than the subject
names, an event the checks refuse) is recorded in ``intake_refusals`` with the reason and
acknowledged, so it never loops; the organisation is told on ``<prefix>.receipts.<id>``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from ..domain.clock import Clock, iso
from ..engine.errors import Problem
from ..logs import get
from .effects.nats import servers
from .store.schema import intake_refusals

log = get("civic.nats")


class RefusalStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine

    def add(self, channel: str, subject: str, org_id: str | None, reason: str, excerpt: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(intake_refusals.insert().values(channel=channel, subject=subject[:300], org_id=org_id,
                                                         reason=reason[:2000], excerpt=excerpt[:500], at=now))

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(intake_refusals).order_by(intake_refusals.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]


class NatsIntake:
    def __init__(self, url: str, prefix: str, intake, organisations, refusals: RefusalStore, clock: Clock,
                 max_bytes: int = 1_000_000, batch: int = 100, on_accept: Callable[[], None] | None = None,
                 replicas: int = 1) -> None:
        self.url, self.prefix, self.intake, self.orgs = url, prefix, intake, organisations
        self.refusals, self.clock, self.max_bytes, self.batch = refusals, clock, max_bytes, batch
        self.on_accept, self.replicas = on_accept, replicas
        self.stream = f"{prefix.upper().replace('.', '_')}_IN"
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # -- one message ---------------------------------------------------------------
    def take(self, subject: str, headers: dict[str, str], data: bytes) -> dict[str, Any]:
        """Decide one message; returns its receipt (``status``: accepted, duplicate, held or refused)."""
        org_id = subject.split(".")[-1] if subject.startswith(f"{self.prefix}.in.") else None
        try:
            if len(data) > self.max_bytes:
                raise _Refused(f"the message is {len(data)} bytes, over the limit of {self.max_bytes}")
            if org_id is None or subject.count(".") != self.prefix.count(".") + 2:
                raise _Refused(f"{subject!r} is not an intake subject ({self.prefix}.in.<organisation id>)")
            scheme, _, token = (headers.get("Authorization") or headers.get("authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _Refused("no credential: send the organisation's token as 'Authorization: Bearer <token>'")
            try:
                org = self.orgs.authenticate(token.strip())
            except Problem as exc:
                raise _Refused(f"{exc.title}: {exc.detail}") from None
            if org.id != org_id:
                log.warning("nats message refused: credential of another organisation", subject_org=org_id,
                            credential_org=org.id)
                raise _Refused(f"the credential belongs to another organisation than {subject!r} names")
            try:
                event = json.loads(data)
            except ValueError as exc:
                raise _Refused(f"the message is not JSON ({exc.msg} at {exc.pos}); send a structured CloudEvent") from None
            (receipt,) = self.intake.submit(org, [event])
            if receipt.status == "rejected":
                raise _Refused(f"{receipt.problem.title}: {receipt.problem.detail}" if receipt.problem else "rejected")
            if receipt.status == "accepted" and self.on_accept:
                self.on_accept()
            return receipt.as_dict()
        except _Refused as why:
            self.refusals.add("nats", subject, org_id, str(why), data[:500].decode("utf-8", "replace"),
                              self.clock.now())
            return {"status": "refused", "reason": str(why), "at": iso(self.clock.now())}

    # -- the consumer --------------------------------------------------------------
    async def _consume(self) -> None:
        import nats
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
        from nats.js.errors import BadRequestError

        nc = await nats.connect(servers(self.url), max_reconnect_attempts=-1, reconnect_time_wait=1)
        js = nc.jetstream()
        try:
            await js.add_stream(StreamConfig(name=self.stream, subjects=[f"{self.prefix}.in.>"],
                                             num_replicas=self.replicas))
        except BadRequestError:
            pass
        sub = await js.pull_subscribe(f"{self.prefix}.in.>", durable="civic-intake", stream=self.stream,
                                      config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30,
                                                            max_deliver=5))
        while not self.stopping.is_set():
            try:
                msgs = await sub.fetch(self.batch, timeout=1)
            except NatsTimeout:
                continue
            for m in msgs:
                try:
                    receipt = await asyncio.to_thread(self.take, m.subject, dict(m.headers or {}), m.data)
                except Exception as exc:  # noqa: BLE001 - the database is away: redeliver later
                    log.error("nats intake failed; the message will be redelivered", error=type(exc).__name__)
                    await m.nak(delay=2)
                    continue
                await m.ack()
                org = m.subject.rsplit(".", 1)[-1]
                await nc.publish(f"{self.prefix}.receipts.{org}", json.dumps(receipt, default=str).encode())
        await nc.drain()

    def run(self) -> None:
        """Consume until ``stop``; reconnects by itself while NATS is away."""
        while not self.stopping.is_set():
            try:
                asyncio.run(self._consume())
            except Exception as exc:  # noqa: BLE001 - NATS down: HTTP intake still works; try again
                log.warning("nats intake not connected; retrying", error=type(exc).__name__)
                self.stopping.wait(2)

    def start(self) -> NatsIntake:
        self.thread = threading.Thread(target=self.run, name="nats-intake", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)


class _Refused(Exception):
    pass
