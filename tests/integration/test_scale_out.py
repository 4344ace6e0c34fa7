"""Scale-out: four `civic worker` processes and two `civic serve` processes on one PostgreSQL
database and a three-node JetStream cluster of their own take 10,000 events, while one worker
and one NATS node are killed with SIGKILL.

Events come in over HTTP (to both web processes) and over NATS (the organisation's intake
subject). Each starts the `tick` moment of the test pack, whose one effect is posted to a
recording provider in this process (``CIVIC_EFFECTS_URL``) under a rate limit every process
shares (``CIVIC_EFFECTS_RATE_PER_SECOND``). What is checked, from the database and at the
provider: every event taken in once and applied once, every journey completed, every effect
performed, repeated only where the killed worker left it unsettled, each person's events applied
in the order they were taken in (and for HTTP, where one sender sends them in turn, in the order
sent), and the rate the provider saw never above the one limit, in any window.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict

import httpx
import pytest
from sqlalchemy import func, select

from civicmoments.adapters.store.schema import inbox, journeys, outbox, timeline
from civicmoments.domain.clock import SystemClock

from ..conftest import ENGINE_PACK, make_app
from ..recording_provider import RecordingProvider
from .test_crash_and_concurrency import count, worker_env
from .test_jetstream_cluster import cluster, free_port, ready  # noqa: F401 - the cluster fixture

pytestmark = [pytest.mark.slow, pytest.mark.scaleout]

PEOPLE, PER_PERSON = 2000, 5  # 10,000 events
RATE = 60.0  # effects a second at the provider, for all six processes together
BATCH = 100  # events per HTTP request
SOURCE = "https://load.example/hr"


def event(person: str, n: int) -> dict:
    return {"specversion": "1.0", "type": "test.tick", "source": SOURCE, "id": f"{person}-{n}",
            "subject": person, "data": {"n": n}}


def send_http(url: str, token: str, people: list[str], failures: list[str]) -> None:
    """One sender to one web process: every person's n-th event after their (n-1)-th was taken in."""
    rows = [event(p, n) for n in range(PER_PERSON) for p in people]
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}",
                                           "Content-Type": "application/cloudevents-batch+json"}) as client:
        for i in range(0, len(rows), BATCH):
            try:
                resp = client.post(f"{url}/v1/events", content=json.dumps(rows[i:i + BATCH]))
            except httpx.HTTPError as exc:
                failures.append(f"{url}: {type(exc).__name__}: {exc}")
                return
            if resp.status_code != 202:
                failures.append(f"{url}: {resp.status_code} {resp.text[:300]}")
                return


def send_nats(urls: list[str], prefix: str, org_id: str, token: str, people: list[str], sent: list[int],
              failures: list[str]) -> None:
    """Publish to the organisation's intake subject, again after a failure (the cluster losing a node);
    JetStream drops a repeat by its message id, and the inbox by the event's source and id."""
    import nats

    async def go():
        nc = await nats.connect(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
        js = nc.jetstream(timeout=5)
        stream = f"{prefix.upper()}_IN"
        for _ in range(600):  # the platform makes its intake stream when it starts
            try:
                await js.stream_info(stream)
                break
            except Exception:  # noqa: BLE001 - not there yet
                await asyncio.sleep(0.1)
        for n in range(PER_PERSON):
            for p in people:
                body = json.dumps(event(p, n)).encode()
                headers = {"Authorization": f"Bearer {token}", "Nats-Msg-Id": f"{SOURCE}/{p}-{n}"}
                for _attempt in range(100):
                    try:
                        await js.publish(f"{prefix}.in.{org_id}", body, headers=headers)
                        break
                    except Exception:  # noqa: BLE001 - the cluster is electing a new leader
                        await asyncio.sleep(0.2)
                else:
                    failures.append(f"could not publish {p}-{n}")
                sent[0] += 1
        await nc.close()

    try:
        asyncio.run(go())
    except Exception as exc:  # noqa: BLE001 - reported by the test
        failures.append(f"nats sender: {type(exc).__name__}: {exc}")


def start(env: dict[str, str], log, *args: str) -> subprocess.Popen:
    """A `civic` process whose errors go to a file (a pipe nobody reads could fill and stop it)."""
    proc = subprocess.Popen([sys.executable, "-m", "civicmoments.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))  # noqa: SIM115 - the process's
    proc.log = log
    return proc


def start_web(env: dict[str, str], log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    return start({**env, "CIVIC_PORTAL": "false"}, log, "serve", "--port", str(port)), f"http://127.0.0.1:{port}"


def tail(proc: subprocess.Popen) -> str:
    return proc.log.read_text()[-2000:]


def wait_healthy(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 120  # a busy machine starts slowly
    while time.monotonic() < deadline:
        assert proc.poll() is None, tail(proc)
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"civic serve at {url} did not start")


def sender(procs: list[subprocess.Popen], port: int) -> subprocess.Popen | None:
    """The process among ``procs`` whose TCP connection has the local ``port``, if any."""
    import psutil

    for p in procs:
        try:
            if any(c.laddr and c.laddr.port == port for c in psutil.Process(p.pid).net_connections(kind="tcp")):
                return p
        except psutil.NoSuchProcess:
            continue
    return None


def busiest(arrivals: list[float], window: float) -> int:
    """The most requests in any window of ``window`` seconds (each window starting at an arrival)."""
    return max(bisect_right(arrivals, t + window) - bisect_left(arrivals, t) for t in arrivals)


def test_four_workers_two_web_processes_and_a_cluster_lose_nothing_when_a_worker_and_a_node_die(
        cluster, pg_url, tmp_path):  # noqa: F811 - the fixture imported above
    urls, nodes = cluster
    prefix = f"s{int(time.time())}"
    ready(urls, prefix)
    app = make_app(pg_url, SystemClock(), pack=ENGINE_PACK)  # the tables, and the sending organisation
    org, token = app.organisations.add("Load", ["https://load.example/*"], ["test.*"])
    people = [f"person-{i}" for i in range(PEOPLE)]
    by_http = [people[0:700], people[700:1400]]
    by_nats = people[1400:]
    procs: list[subprocess.Popen] = []
    with RecordingProvider() as provider:
        env = worker_env(pg_url, CIVIC_EFFECTS_URL=provider.url, CIVIC_EFFECTS_RATE_PER_SECOND=str(RATE),
                         CIVIC_NATS_URL=",".join(urls), CIVIC_NATS_PREFIX=prefix, CIVIC_NATS_REPLICAS="3",
                         CIVIC_EFFECT_LEASE_SECONDS="10", CIVIC_EFFECT_BATCH_SIZE="50", CIVIC_BATCH_SIZE="200",
                         CIVIC_DATA_DIR=str(tmp_path / "data"))
        try:
            webs = [start_web(env, tmp_path / f"web{i}.log") for i in range(2)]
            procs += [p for p, _ in webs]
            workers = [start(env, tmp_path / f"worker{i}.log", "worker") for i in range(4)]
            procs += workers
            for p, url in webs:
                wait_healthy(p, url)
            failures: list[str] = []
            sent = [0]
            senders = [threading.Thread(target=send_http, args=(url, token, group, failures))
                       for (_, url), group in zip(webs, by_http, strict=True)]
            senders.append(threading.Thread(target=send_nats,
                                            args=(urls, prefix, org.id, token, by_nats, sent, failures)))
            started = time.monotonic()
            for s in senders:
                s.start()

            def wait_for(what, condition, seconds=240):
                deadline = time.monotonic() + seconds
                while not condition():
                    assert time.monotonic() < deadline, f"{what}: {app.store.counts()} {failures}"
                    for p in procs:
                        assert p.poll() is None or p.returncode == -signal.SIGKILL, tail(p)
                    time.sleep(0.05)

            # mid-run: a NATS node while the organisation is still publishing, a worker while effects go out
            wait_for("half the NATS events published", lambda: sent[0] >= len(by_nats) * PER_PERSON // 2)
            nodes[0].send_signal(signal.SIGKILL)
            nodes[0].wait(10)
            # the worker is killed in the middle of a batch: its request held at the provider (performed
            # there, never answered), so the batch is never settled and another worker must take it again
            wait_for("1,500 effects performed", lambda: len(provider.performed) >= 1500)
            victim = None
            while victim is None:
                provider.hold_next()
                wait_for("a request to hold", provider.held.is_set, seconds=60)
                victim = sender(workers, provider.held_port)
                if victim is None:  # a web process's request (they run the engine too): let it go, try again
                    provider.release.set()
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            provider.release.set()
            killed_at = len(provider.performed)
            for s in senders:
                s.join(300)
            assert not failures, failures
            assert killed_at < PEOPLE * PER_PERSON // 2, "the worker was killed after most of the work was done"

            completed = select(func.count()).where(journeys.c.status == "completed")
            wait_for("every journey completed and every effect settled",
                     lambda: count(app, completed) == PEOPLE * PER_PERSON
                     and count(app, select(func.count()).where(outbox.c.status != "done")) == 0, seconds=420)
            took = time.monotonic() - started
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        arrivals = sorted(provider.arrivals)
        performed, calls = dict(provider.performed), dict(provider.calls)

    total = PEOPLE * PER_PERSON
    with app.store.engine.connect() as conn:
        taken = conn.execute(select(inbox.c.seq, inbox.c.subject, inbox.c.data, inbox.c.process_count)
                             .where(inbox.c.type == "test.tick")).all()
        ids = conn.execute(select(journeys.c.id)).scalars().all()
        applied = conn.execute(
            select(journeys.c.person, journeys.c.state, timeline.c.id)
            .join(timeline, timeline.c.journey_id == journeys.c.id)
            .where(timeline.c.kind == "started")).all()
    app.store.close()

    # every event taken in once (none lost with the NATS node, none twice) and applied once
    assert len(taken) == total and {r.process_count for r in taken} == {1}
    assert len({(r.subject, r.data["n"]) for r in taken}) == total
    # every journey completed, and its one effect performed at the provider
    assert len(ids) == total
    assert set(performed) == {f"{j}:note" for j in ids}
    assert set(performed.values()) == {1}
    repeats = sum(calls.values()) - len(calls)
    # the killed worker's unsettled batch is posted again by another; the held request itself may
    # never be counted (its sender died before the answer), so none at all is possible too
    assert 0 <= repeats <= 50, f"{repeats} effects posted again; at most the killed worker's batch (50) may be"
    # each person's events applied in the order taken in; for HTTP, also in the order sent
    seq = {(r.subject, r.data["n"]): r.seq for r in taken}
    order: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for person, state, timeline_id in applied:
        order[person].append((timeline_id, state["trigger"]["data"]["n"]))
    for person, seen in order.items():
        ns = [n for _, n in sorted(seen)]
        assert ns == sorted(ns, key=lambda n: seq[(person, n)]), f"{person} applied out of the order taken in"
    for person in by_http[0] + by_http[1]:
        assert [n for _, n in sorted(order[person])] == list(range(PER_PERSON)), person
    # the limit held across all six processes, counted at the provider: a token bucket lets through
    # RATE a second plus one second's worth in hand; two seconds more cover tokens taken before a
    # loaded machine got their requests out (six buckets of their own would allow six times RATE)
    for window in (1.0, 5.0, 20.0, 60.0):
        most = busiest(arrivals, window)
        assert most <= RATE * (window + 3), f"{most} effects in {window} s; the limit allows {RATE * window:.0f}"
    assert busiest(arrivals, 20.0) >= RATE * 20 * 0.6, "the limit never bound: the test shows nothing about it"
    print(f"\n{total} events, {len(calls)} effects ({repeats} posted again) in {took:.0f} s; "
          f"busiest 5 s at the provider: {busiest(arrivals, 5.0)} (limit {RATE:.0f}/s)")
