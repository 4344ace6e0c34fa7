"""Subscribers' events on a real NATS JetStream server (the one on 4222, or CIVIC_TEST_NATS_URL)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
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


def read(url: str, org_id: str, count: int, prefix: str = "civic") -> list:
    """What a subscriber's own durable consumer reads from its subject space (acknowledged)."""
    import nats

    async def go():
        nc = await nats.connect(url)
        js = nc.jetstream()
        sub = await js.pull_subscribe(f"{prefix}.out.{org_id}.>", durable=f"sub-{org_id}",
                                      stream=f"{prefix.upper()}_OUT")
        msgs = await sub.fetch(count, timeout=5)
        for m in msgs:
            await m.ack()
        out = [(dict(m.headers or {}), m.data, m.subject) for m in msgs]
        await nc.close()
        return out

    return asyncio.run(go())


def test_events_reach_the_subscribers_durable_consumer_and_wait_while_nats_is_down(db_url, nats_url):
    clock = FakeClock()
    prefix = f"t{secrets.token_hex(4)}"  # a subject space of this test's own
    app = make_app(db_url, clock, settings={"nats_url": "nats://127.0.0.1:1", "nats_prefix": prefix})  # NATS down
    council, _ = app.organisations.add("Council", ["https://council.example/*"], [])
    app.agreements.put("council-support", "Council", PURPOSE, ["postcode"], events=[TYPE])
    s = app.subscriptions.create(council, [TYPE], "council-support", protocol="NATS")
    assert s.sink == f"{prefix}.out.{council.id}"
    p = person(app)
    publish(app, p, postcode="CF10 1AA", service="jsa")
    app.relay.run_once()
    assert app.subscriptions.counts(s.id) == {"pending": 1}, "nothing is lost while NATS is down"

    app.relay.transports["NATS"] = NatsTransport(nats_url, prefix)  # NATS is back
    clock.advance(timedelta(seconds=2))
    app.relay.run_once()
    assert app.subscriptions.counts(s.id) == {"delivered": 1}
    ((headers, data, subject),) = read(nats_url, council.id, 1, prefix)
    assert subject == f"{prefix}.out.{council.id}.{TYPE}"
    assert headers["ce-subject"] == app.gate.pseudonymiser.pseudonym(council.id, PURPOSE, p)
    assert headers["ce-type"] == TYPE and json.loads(data) == {"postcode": "CF10 1AA"}
    app.relay.transports["NATS"].close()
    app.store.close()


def test_events_in_from_an_organisations_own_subject(db_url, nats_url):
    import nats
    from sqlalchemy import select

    from civicmoments.adapters.store.schema import inbox

    from ..people import known

    prefix = f"t{secrets.token_hex(4)}"
    app = make_app(db_url, FakeClock(), settings={"nats_url": nats_url, "nats_prefix": prefix})
    northfield, token = app.organisations.add("Northfield", ["https://northfield.example/*"],
                                              ["uk.gov.dwp.employment.*"])
    _, other_token = app.organisations.add("Other", ["https://other.example/*"], ["uk.gov.dwp.employment.*"])
    person = known(app, employer="Northfield")
    intake = app.nats_intake()
    intake.max_bytes = 4000
    intake.start()
    event = {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": "https://northfield.example/hr",
             "id": "NATS-1", "subject": person, "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 30}}
    mine = {"Authorization": f"Bearer {token}"}
    sends = [(json.dumps(event).encode(), mine), (json.dumps(event).encode(), mine),  # the same event twice
             (json.dumps({**event, "id": "NATS-2"}).encode(), {"Authorization": f"Bearer {other_token}"}),
             (b"{not json", mine), (json.dumps({**event, "id": "NATS-3", "pad": "x" * 5000}).encode(), mine),
             (json.dumps({**event, "id": "NATS-4"}).encode(), {})]
    receipts: list[dict] = []

    async def go():
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        for _ in range(100):  # the platform makes its intake stream
            try:
                await js.stream_info(f"{prefix.upper()}_IN")
                break
            except Exception:  # noqa: BLE001 - not there yet
                await asyncio.sleep(0.1)
        got = await nc.subscribe(f"{prefix}.receipts.{northfield.id}")
        for body, headers in sends:
            await js.publish(f"{prefix}.in.{northfield.id}", body, headers=headers)
        for _ in range(len(sends)):
            receipts.append(json.loads((await got.next_msg(timeout=20)).data))
        for _ in range(100):  # the last receipt goes out just before its message is acknowledged
            info = await js.consumer_info(f"{prefix.upper()}_IN", "civic-intake")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.1)
        await nc.close()
        return info

    info = asyncio.run(go())
    intake.stop()
    assert [r["status"] for r in receipts] == ["accepted", "duplicate", "refused", "refused", "refused", "refused"]
    assert "another organisation" in receipts[2]["reason"] and "not JSON" in receipts[3]["reason"]
    assert "over the limit of 4000" in receipts[4]["reason"] and "no credential" in receipts[5]["reason"]
    refused = intake.refusals.list()
    assert len(refused) == 4 and {r["org_id"] for r in refused} == {northfield.id}
    assert info.num_pending == 0 and info.num_ack_pending == 0, "every message acknowledged: none loops"
    with app.store.reader.connect() as conn:
        taken = conn.execute(select(inbox.c.event_id).where(inbox.c.source == event["source"])).scalars().all()
    assert taken == ["NATS-1"], "taken in once, through the same checks as HTTP"
    app.store.close()
