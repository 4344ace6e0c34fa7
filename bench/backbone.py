"""The backbone benchmark: events told to 100 subscribers, and the engine with 1, 2 and 4 workers.

    python bench/backbone.py [--quick] --json OUT.json

Figures (printed and written to the JSON file):
- delivery.webhook / delivery.jetstream: ``events`` taken in, each told to ``subscribers``
  organisations (one subscription each, under its own agreement), timed from the first fan-out
  until every delivery is settled: ``deliveries_per_s``, and the CPU seconds of this process (the
  relay, the gate, the access log, the webhook receiver or the NATS client), of PostgreSQL's
  processes and of nats-server, each per 1,000 deliveries;
- engine: ``bench/engine.py``'s 4-step flow on PostgreSQL with 1, 2 and 4 ``civic worker``
  processes: events per second, the workers' CPU seconds and PostgreSQL's, per 1,000 events,
  and the database's share of the CPU used;
- peak_rss_mb: this process's peak resident memory.

On a 2-core machine shared with PostgreSQL and NATS, more workers show contention as much as
scale: the per-event CPU costs are what a capacity estimate should be built on (README).
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select

from civicmoments.adapters.store.schema import inbox, subscription_deliveries
from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.engine.steps import PLATFORM
from civicmoments.settings import Settings
from common import KEY_SETTINGS, add_quick, apply_quick, emit, fresh_database, say

ROOT = Path(__file__).resolve().parents[1]
TYPE = "civic.eligibility.changed"
PURPOSE = "benefit-assessment"  # notice-only: the gate needs no consent, so every event may go
NATS_URL = os.environ.get("CIVIC_BENCH_NATS_URL", "nats://127.0.0.1:4222")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(names: tuple[str, ...]) -> float:
    """CPU seconds used so far by every process whose command name is one of ``names``, with the
    children each has reaped (so a PostgreSQL backend that has exited still counts, in its parent)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name in names:
            fields = text[text.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / TICKS


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Receiver:
    """Every subscriber's webhook: one local server that counts what arrives and answers 204."""

    def __init__(self) -> None:
        self.count = 0
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                me.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def nats_up() -> bool:
    host, _, port = NATS_URL.removeprefix("nats://").partition(":")
    try:
        socket.create_connection((host, int(port or 4222)), timeout=2).close()
        return True
    except OSError:
        return False


def delivery(kind: str, url: str, events: int, subscribers: int) -> dict:
    """Tell ``events`` events to ``subscribers`` organisations over webhooks or JetStream."""
    prefix = f"bench{secrets.token_hex(3)}"
    settings = Settings(database_url=url, pack_dir=ROOT / "packs" / "uk", log_level="WARNING", demo_mode=True,
                        data_dir=Path(tempfile.mkdtemp(prefix="civic-bench-")), portal=False,
                        nats_url=NATS_URL if kind == "jetstream" else None, nats_prefix=prefix, **KEY_SETTINGS)
    app = build(settings, clock=SystemClock())
    receiver = Receiver() if kind == "webhook" else None
    for i in range(subscribers):
        org, _ = app.organisations.add(f"Agency {i}", [f"https://agency{i}.example/*"], [])
        app.agreements.put(f"agency-{i}", f"Agency {i}", PURPOSE, ["postcode"], events=[TYPE])
        app.subscriptions.create(org, [TYPE], f"agency-{i}", f"{receiver.url}/a{i}" if receiver else "",
                                 "HTTP" if receiver else "NATS")
    people = [app.registry.add_person() for _ in range(events)]
    app.registry.record_many(PLATFORM, [(p, [{"attribute": "postcode", "value": "LS1 4AP"}]) for p in people])
    for p in people:
        app.store.publish(TYPE, p, {"date": "2026-11-30", "postcode": "LS1 4AP", "service": "jsa"}, app.clock.now())
    while app.worker.run_once():  # taken in (processed) before the clock starts
        pass
    with app.store.reader.connect() as conn:
        taken = conn.execute(select(func.count()).where(inbox.c.type == TYPE, inbox.c.status == "processed")).scalar()
    total = events * subscribers
    app.relay.batch = 1000
    cpu0, pg0, nats0 = own_cpu(), cpu_of(("postgres",)), cpu_of(("nats-server",))
    start, last = time.perf_counter(), time.perf_counter()
    settled = 0
    while settled < total:
        settled += app.relay.run_once()
        if time.perf_counter() - last > 2:
            last = time.perf_counter()
            say(f"  {kind}: {settled:,}/{total:,} deliveries settled")
    seconds = time.perf_counter() - start
    own, pg, nats = own_cpu() - cpu0, cpu_of(("postgres",)) - pg0, cpu_of(("nats-server",)) - nats0
    with app.store.reader.connect() as conn:
        delivered = conn.execute(select(func.count()).where(subscription_deliveries.c.status == "delivered")).scalar()
    if kind == "jetstream":
        app.relay.transports["NATS"].close()
    app.store.close()
    per = 1000 / max(delivered, 1)
    return {"events": taken, "subscribers": subscribers, "deliveries": delivered, "seconds": round(seconds, 3),
            "deliveries_per_s": round(delivered / seconds, 1), "received": receiver.count if receiver else delivered,
            "cpu_s_per_1000": {"platform": round(own * per, 3), "postgres": round(pg * per, 3),
                               "nats_server": round(nats * per, 3)}}


def engine_scaling(workers: list[int], events: int, batch: int) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from engine import throughput  # the engine benchmark's own flow and worker processes

    out = []
    for n in workers:
        with fresh_database("postgres", Path(tempfile.mkdtemp()), f"backbone{n}") as url:
            say(f"engine on PostgreSQL with {n} worker(s): {events:,} journeys")
            kids0, pg0 = children_cpu(), cpu_of(("postgres",))
            tp = throughput(url, events, batch, n)
            kids, pg = children_cpu() - kids0, cpu_of(("postgres",)) - pg0
        per = 1000 / (2 * events)
        out.append({"workers": n, "events_per_s": round(tp["events_per_s"], 1), "seconds": round(tp["seconds"], 2),
                    "cpu_s_per_1000_events": {"workers": round(kids * per, 3), "postgres": round(pg * per, 3)},
                    "database_share_of_cpu": round(pg / (pg + kids), 3) if pg + kids else None})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events told to every subscriber")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--engine-events", type=int, default=5000, help="journeys per engine run")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--json", type=Path)
    add_quick(parser, events=20, subscribers=5, engine_events=100, workers="1")
    args = parser.parse_args()
    apply_quick(args, args.json)
    figures: dict = {"benchmark": "backbone", "db": args.db, "events": args.events, "subscribers": args.subscribers,
                     "engine_events": args.engine_events, "delivery": {}}
    for kind in ("webhook", "jetstream"):
        if kind == "jetstream" and not nats_up():
            if os.environ.get("CI", "").lower() == "true":
                raise SystemExit(f"NATS is required under CI=true: nothing answers at {NATS_URL}")
            figures["delivery"][kind] = {"skipped": f"no NATS at {NATS_URL}"}
            continue
        with fresh_database(args.db, Path(tempfile.mkdtemp()), f"backbone_{kind}") as url:
            say(f"{kind}: {args.events:,} events to {args.subscribers} subscribers on {args.db}")
            figures["delivery"][kind] = delivery(kind, url, args.events, args.subscribers)
    figures["engine"] = engine_scaling([int(w) for w in args.workers.split(",")], args.engine_events, 500)
    emit(figures, args.json, args.quick)


if __name__ == "__main__":
    main()
