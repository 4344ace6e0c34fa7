"""The engine benchmark: a 4-step moment (decide, notify, wait for a reply, grant).

    python bench/engine.py --events N --db sqlite|postgres --json OUT.json

Figures (all printed and written to the JSON file):
- events_per_s: trigger and reply events per second, from the first intake to the last grant;
- p50_ms / p99_ms: acceptance at intake to the first effect, at an offered load (default
  1,000 events/s) with the engine running beside the intake, as in ``civic serve``;
- peak_rss_mb: the benchmark process's peak resident memory;
- floor_rows_per_s: batched inserts of the minimal rows the same work needs;
- peers: DBOS and SpiffWorkflow running the same flow on the same database, each with
  events_per_s, sample_events and our ratio to it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from common import fresh_database, peak_rss_mb
from sqlalchemy import func, insert, select

from civicmoments.adapters.effects.local import RecordingProvider, SimpleRulesProvider
from civicmoments.adapters.store.schema import inbox, journeys, outbox, timeline, timers
from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.domain.moments import StepKind
from civicmoments.engine.ports import Effect, EffectResult
from civicmoments.settings import Settings

HERE = Path(__file__).resolve().parent
PACK = HERE / "pack"
SOURCE = "bench://load"
MINIMAL_ROWS_PER_FLOW = 8  # inbox: trigger, decision, reply; journey; outbox: 3 effects; timer


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class ReplyingProvider(RecordingProvider):
    """Records effects; each notification makes the person reply, and the first effect is timed."""

    def __init__(self, store, clock) -> None:
        super().__init__(store, clock)
        self.lock = threading.Lock()
        self.replies: list[dict] = []
        self.granted = 0
        self.first_effect: dict[str, float] = {}

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        results = super().perform(effects)
        now = time.perf_counter()
        with self.lock:
            for e in effects:
                self.first_effect.setdefault(e.person, now)
                if e.kind == StepKind.NOTIFY.value:
                    self.replies.append({"specversion": "1.0", "type": "bench.reply", "source": SOURCE,
                                         "id": f"r-{e.person}", "subject": e.person, "data": {"ok": True}})
                elif e.kind == StepKind.GRANT.value:
                    self.granted += 1
        return results

    def take_replies(self) -> list[dict]:
        with self.lock:
            out, self.replies = self.replies, []
        return out


class TimedRules(SimpleRulesProvider):
    def __init__(self, rules, recorder: ReplyingProvider) -> None:
        super().__init__(rules)
        self.recorder = recorder

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        results = super().perform(effects)
        now = time.perf_counter()
        with self.recorder.lock:
            for e in effects:
                self.recorder.first_effect.setdefault(e.person, now)
        return results


def make(url: str, batch: int):
    settings = Settings(database_url=url, pack_dir=PACK, batch_size=batch, effect_batch_size=batch,
                        log_level="WARNING")
    clock = SystemClock()
    app = build(settings, clock=clock, providers={})
    recorder = ReplyingProvider(app.store, clock)
    providers = {k.value: recorder for k in StepKind if k is not StepKind.WAIT}
    providers[StepKind.DECIDE.value] = TimedRules(app.pack.rules, recorder)
    app.effects.providers = providers
    org, _ = app.organisations.add("Bench", [SOURCE], ["bench.*"])
    return app, org, recorder


def trigger(i: int, run: str) -> dict:
    return {"specversion": "1.0", "type": "bench.case.opened", "source": SOURCE, "id": f"{run}-{i}",
            "subject": f"{run}-p{i}", "data": {"n": i}}


def throughput(url: str, n: int, batch: int) -> dict:
    app, org, recorder = make(url, batch)
    events = [trigger(i, "t") for i in range(n)]
    start = time.perf_counter()
    sent, last_report = 0, start
    while recorder.granted < n:
        if sent < n:
            app.intake.submit(org, events[sent : sent + batch])
            sent += batch
        replies = recorder.take_replies()
        if replies:
            app.intake.submit(org, replies)
        app.worker.run_once()
        if time.perf_counter() - last_report > 2:
            last_report = time.perf_counter()
            say(f"  throughput: {recorder.granted:,}/{n:,} journeys granted")
    elapsed = time.perf_counter() - start
    with app.store.engine.connect() as conn:
        written = sum(conn.execute(select(func.count()).select_from(t)).scalar()
                      for t in (inbox, journeys, timeline, outbox, timers))
        done = conn.execute(select(func.count()).where(journeys.c.status == "completed")).scalar()
    assert done == n, f"only {done} of {n} journeys completed"
    app.store.engine.dispose()
    return {"seconds": elapsed, "journeys_per_s": n / elapsed, "events_per_s": 2 * n / elapsed,
            "rows_written": written, "rows_per_s": written / elapsed}


def latency(url: str, rate: int, seconds: float, batch: int) -> dict:
    """Offer `rate` trigger events a second while the engine runs in another thread."""
    app, org, recorder = make(url, batch)
    accepted: dict[str, float] = {}
    stop = threading.Event()

    def engine() -> None:
        while not stop.is_set():
            if not app.worker.run_once():
                time.sleep(0.002)

    worker = threading.Thread(target=engine, daemon=True)
    worker.start()
    tick, per_tick = 0.01, max(1, rate // 100)
    total = int(rate * seconds)
    start = time.perf_counter()
    for k in range(0, total, per_tick):
        due = start + (k // per_tick) * tick
        while (now := time.perf_counter()) < due:
            time.sleep(min(0.001, due - now))
        chunk = [trigger(i, "l") for i in range(k, min(total, k + per_tick))]
        app.intake.submit(org, chunk + recorder.take_replies())
        at = time.perf_counter()
        for e in chunk:
            accepted[e["subject"]] = at
    offered_for = time.perf_counter() - start
    deadline = time.perf_counter() + 60
    while len(recorder.first_effect) < total and time.perf_counter() < deadline:
        time.sleep(0.01)
    stop.set()
    worker.join()
    app.store.engine.dispose()
    waits = sorted((recorder.first_effect[p] - t) * 1000 for p, t in accepted.items()
                   if p in recorder.first_effect)
    q = statistics.quantiles(waits, n=100)
    return {"offered_events_per_s": rate, "achieved_offer_per_s": total / offered_for,
            "measured": len(waits), "p50_ms": q[49], "p99_ms": q[98], "max_ms": waits[-1]}


def floor(url: str, n: int, batch: int) -> dict:
    """Batched inserts of the minimal rows the same flows need, into the same tables."""
    app = build(Settings(database_url=url, pack_dir=PACK, log_level="WARNING"), clock=SystemClock())
    now = datetime.now(timezone.utc)
    start = time.perf_counter()
    rows = 0
    for lo in range(0, n, batch):
        ids = range(lo, min(n, lo + batch))
        with app.store.engine.begin() as conn:
            conn.execute(insert(inbox), [
                {"source": SOURCE, "event_id": f"f{i}-{k}", "type": "bench.case.opened", "subject": f"p{i}",
                 "partition": i % 64, "time": now, "data": {"n": i}, "digest": "-", "received_at": now,
                 "status": "processed", "process_count": 1} for i in ids for k in range(3)])
            conn.execute(insert(journeys), [
                {"id": f"j{i}", "moment": "bench", "person": f"p{i}", "status": "completed", "version": 1,
                 "started_at": now, "updated_at": now, "state": {}} for i in ids])
            conn.execute(insert(outbox), [
                {"key": f"j{i}:{k}", "journey_id": f"j{i}", "person": f"p{i}", "step": k, "kind": "notify",
                 "payload": {}, "status": "done", "attempts": 1, "max_attempts": 5, "backoff_seconds": 2,
                 "next_attempt_at": now, "created_at": now} for i in ids for k in ("a", "b", "c")])
            conn.execute(insert(timers), [
                {"id": f"j{i}:t", "journey_id": f"j{i}", "person": f"p{i}", "step": "answer", "due_at": now,
                 "status": "cancelled"} for i in ids])
        rows += len(ids) * MINIMAL_ROWS_PER_FLOW
    elapsed = time.perf_counter() - start
    app.store.engine.dispose()
    return {"floor_rows_per_s": rows / elapsed, "floor_journeys_per_s": n / elapsed}


def peer(name: str, n: int, url: str) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "peers.py"), name, "--events", str(n), "--url", url],
                         capture_output=True, text=True, timeout=900, cwd=HERE)
    if out.returncode != 0:
        raise RuntimeError(f"peer {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="trigger events (journeys)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", dest="out", type=Path, help="write the figures here")
    parser.add_argument("--batch", type=int, default=1000, help="events and effects per transaction")
    parser.add_argument("--rate", type=int, default=1000, help="offered load for the latency run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--peer-sample", type=int, default=2000, help="flows each peer runs")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    if args.events < 1 or args.peer_sample < 1:
        parser.error("--events and --peer-sample must be positive")

    with tempfile.TemporaryDirectory(prefix="civic-bench-") as tmp:
        work = Path(tmp)
        say(f"throughput: {args.events:,} journeys on {args.db}")
        with fresh_database(args.db, work, "throughput") as url:
            tp = throughput(url, args.events, args.batch)
        say(f"latency: {args.rate:,} events/s offered for {args.seconds:g} s")
        with fresh_database(args.db, work, "latency") as url:
            lat = latency(url, args.rate, args.seconds, min(args.batch, 500))
        say("floor: minimal rows, batched")
        with fresh_database(args.db, work, "floor") as url:
            fl = floor(url, args.events, args.batch)
        peers = {}
        if not args.no_peers:
            for name in ("dbos", "spiff"):
                say(f"peer {name}: {args.peer_sample:,} flows")
                with fresh_database(args.db, work, name) as url:
                    result = peer(name, args.peer_sample, url)
                peers[name] = {"events_per_s": result["events_per_s"], "sample_events": 2 * args.peer_sample,
                               "flows": args.peer_sample, "peak_rss_mb": result["peak_rss_mb"],
                               "ratio": round(tp["events_per_s"] / result["events_per_s"], 1)}

    figures = {
        "db": args.db,
        "events": 2 * args.events,
        "journeys": args.events,
        "events_per_s": round(tp["events_per_s"], 1),
        "journeys_per_s": round(tp["journeys_per_s"], 1),
        "seconds": round(tp["seconds"], 2),
        "p50_ms": round(lat["p50_ms"], 1),
        "p99_ms": round(lat["p99_ms"], 1),
        "latency": {k: round(v, 1) if isinstance(v, float) else v for k, v in lat.items()},
        "peak_rss_mb": peak_rss_mb(),
        "rows_per_s": round(tp["rows_per_s"], 1),
        "floor_rows_per_s": round(fl["floor_rows_per_s"], 1),
        "floor_journeys_per_s": round(fl["floor_journeys_per_s"], 1),
        "share_of_floor": round(tp["journeys_per_s"] / fl["floor_journeys_per_s"], 3),
        "peers": peers,
        "machine": {"cpus": __import__("os").cpu_count(), "python": sys.version.split()[0]},
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
