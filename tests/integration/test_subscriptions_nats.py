"""Subscribers' events on a real NATS JetStream server (the one on 4222, or CIVIC_TEST_NATS_URL)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from civicmoments.adapters.effects.nats import NatsTransport
from civicmoments.domain.clock import FakeClock

from ..conftest import make_app, service_missing
from .test_subscriptions import PURPOSE, TYPE, person, publish

NATS_URL = os.environ.get("CIVIC_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_url() -> str:
    parts = urlsplit(NATS_URL)
    try:
        socket.create_connection((parts.hostname, parts.port or 4222), timeout=2).close()
    except OSError:
        service_missing(f"NATS at {NATS_URL}")
    return NATS_URL


def read(url: str, org_id: str, count: int) -> list:
    """What a subscriber's own durable consumer reads from its subject space (acknowledged)."""
    import nats

    async def go():
        nc = await nats.connect(url)
        js = nc.jetstream()
        sub = await js.pull_subscribe(f"civic.out.{org_id}.>", durable=f"sub-{org_id}", stream="CIVIC_OUT")
        msgs = await sub.fetch(count, timeout=5)
        for m in msgs:
            await m.ack()
        out = [(dict(m.headers or {}), m.data, m.subject) for m in msgs]
        await nc.close()
        return out

    return asyncio.run(go())


def test_events_reach_the_subscribers_durable_consumer_and_wait_while_nats_is_down(db_url, nats_url):
    clock = FakeClock()
    app = make_app(db_url, clock, settings={"nats_url": "nats://127.0.0.1:1"})  # NATS down at first
    council, _ = app.organisations.add("Council", ["https://council.example/*"], [])
    app.agreements.put("council-support", "Council", PURPOSE, ["postcode"], events=[TYPE])
    s = app.subscriptions.create(council, [TYPE], "council-support", protocol="NATS")
    assert s.sink == f"civic.out.{council.id}"
    p = person(app)
    publish(app, p, postcode="CF10 1AA", service="jsa")
    app.relay.run_once()
    assert app.subscriptions.counts(s.id) == {"pending": 1}, "nothing is lost while NATS is down"

    app.relay.transports["NATS"] = NatsTransport(nats_url)  # NATS is back
    clock.advance(timedelta(seconds=2))
    app.relay.run_once()
    assert app.subscriptions.counts(s.id) == {"delivered": 1}
    ((headers, data, subject),) = read(nats_url, council.id, 1)
    assert subject == f"civic.out.{council.id}.{TYPE}"
    assert headers["ce-subject"] == app.gate.pseudonymiser.pseudonym(council.id, PURPOSE, p)
    assert headers["ce-type"] == TYPE and json.loads(data) == {"postcode": "CF10 1AA"}
    app.relay.transports["NATS"].close()
    app.store.close()
