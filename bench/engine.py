"""The engine benchmark: a 4-step moment (decide, notify, wait for a reply, grant).

    python bench/engine.py --events N --db sqlite|postgres [--quick] --json OUT.json

Figures (all printed and written to the JSON file):
- events_per_s: trigger and reply events per second, from the first intake until every
  journey has completed; the engine runs as ``civic worker`` processes beside the intake;
- p50_ms / p99_ms: acceptance at intake to the first effect, at an offered load (default
  1,000 events/s, triggers and replies together);
- peak_rss_mb: the benchmark process's peak resident memory; workers_peak_rss_mb: the
  workers' (added up), in the throughput run;
- workers_cpu_ms_per_event / intake_cpu_ms_per_event: CPU time (user and system) the workers,
  and the benchmark process (intake and replies), spent per event in the throughput run: a
  figure that holds on a loaded machine, where wall-clock rates do not;
- floor_rows_per_s: batched inserts of the minimal rows the same work needs;
- peers: DBOS and SpiffWorkflow running the same flow on the same database, each with
  events_per_s, sample_events and our ratio to it.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from civicmoments.adapters.store.schema import deliveries, inbox, journeys, outbox, timeline, timers
from civicmoments.adapters.store.sql import utc
from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.settings import Settings
from common import (
    KEY_SETTINGS,
    add_quick,
    apply_quick,
    civic_env,
    emit,
    fresh_database,
    process_cpu_s,
    process_peak_rss_mb,
    start_workers,
)

HERE = Path(__file__).resolve().parent
PACK = HERE / "pack"
SOURCE = "bench://load"
MINIMAL_ROWS_PER_FLOW = 8  # inbox: trigger, decision, reply; journey; outbox: 3 effects; timer


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def trigger(i: int, run: str) -> dict:
    return {"specversion": "1.0", "type": "bench.case.opened", "source": SOURCE, "id": f"{run}-{i}",
            "subject": f"{run}-p{i}", "data": {"n": i}}


class Bench:
    """The bench process is the outside world: it sends triggers and, once a person has been
    notified, their reply. The engine runs as ``civic worker`` processes, as in production."""

    WINDOW = 5000  # ids read at a time by a look at a table

    def __init__(self, url: str, workers: int, batch: int, slice_size: int = 100) -> None:
        self.url, self.batch = url, batch
        settings = Settings(database_url=url, pack_dir=PACK, log_level="WARNING", **KEY_SETTINGS)
        self.app = build(settings, clock=SystemClock())
        self.org, _ = self.app.organisations.add("Bench", [SOURCE], ["bench.*"])
        env = civic_env(url, pack_dir=PACK, batch_size=batch, effect_batch_size=batch, slice_size=slice_size,
                        idle_sleep_seconds=0.002)
        self.procs = start_workers(env, workers)  # each sharing the work from its first batch
        self.last_outbox_id = 0
        self.unsent: set[int] = set()  # ids of notices seen queued but not yet done
        self.margin = 4 * batch * workers if url.startswith("postgresql") else 0
        self.replied: set[str] = set()
        self.last_timeline_id = 0
        self.done_journeys: set[str] = set()

    def send(self, events: list[dict]) -> None:
        for r in self.app.intake.submit(self.org, events):
            if r.status != "accepted":
                raise RuntimeError(f"bench event refused: {r.as_dict()}")

    def reply_to_notified(self) -> int:
        """Reply for every person whose notice has gone out since the last look. Each look reads
        the notices queued since the last one, and those still unsent at the last one, by id: the
        outside world's polling costs what is new, not the whole history."""
        tell = outbox.c.step == "tell"
        with self.app.store.reader.connect() as conn:
            # On PostgreSQL, from a little before the last id seen: there a worker's batch can
            # commit ids lower than another's it committed after.
            rows = self._since(conn, outbox, (outbox.c.id, outbox.c.person, outbox.c.status), tell,
                               self.last_outbox_id - self.margin)
            waiting = sorted(self.unsent)
            for lo in range(0, len(waiting), 500):
                rows += conn.execute(select(outbox.c.id, outbox.c.person, outbox.c.status)
                                     .where(outbox.c.id.in_(waiting[lo : lo + 500]))).all()
        if rows:
            self.last_outbox_id = max(self.last_outbox_id, max(r.id for r in rows))
        fresh = []
        for r in rows:
            if r.status != "done":
                self.unsent.add(r.id)
                continue
            self.unsent.discard(r.id)
            if r.person not in self.replied:
                self.replied.add(r.person)
                fresh.append(r)
        if fresh:
            replies = [{"specversion": "1.0", "type": "bench.reply", "source": SOURCE, "id": f"r-{r.person}",
                        "subject": r.person, "data": {"ok": True}} for r in fresh]
            for lo in range(0, len(replies), self.batch):
                self.send(replies[lo : lo + self.batch])
        return len(fresh)

    def completed(self) -> int:
        """Journeys completed: a count of the whole table."""
        with self.app.store.reader.connect() as conn:
            return conn.execute(select(func.count()).where(journeys.c.status == "completed")).scalar()

    def completed_lately(self) -> int:
        """Journeys completed, from the timeline's new "completed" entries since the last look (from
        a little before it on PostgreSQL, as for notices): a frequent look that costs what is new.
        ``completed`` confirms the count before it is believed."""
        with self.app.store.reader.connect() as conn:
            page = self._since(conn, timeline, (timeline.c.id, timeline.c.journey_id), timeline.c.kind == "completed",
                               self.last_timeline_id - 4 * self.margin)
        self.done_journeys.update(r.journey_id for r in page)
        self.last_timeline_id = max([self.last_timeline_id, *(r.id for r in page)])
        return len(self.done_journeys)

    def _since(self, conn, table, columns, condition, after: int) -> list:
        """The rows of ``table`` meeting ``condition`` with an id above ``after``, read a window of
        ids at a time up to the highest id: each read has both bounds, so the primary key is walked
        over the window (a fresh table's planner has no statistics, and with one bound would scan
        the whole table)."""
        top = conn.execute(select(func.max(table.c.id))).scalar() or 0
        rows = []
        for lo in range(after, top, self.WINDOW):
            rows += conn.execute(select(*columns).where(table.c.id > lo, table.c.id <= lo + self.WINDOW, condition)
                                 .order_by(table.c.id)).all()
        return rows

    def workers_cpu_s(self) -> float:
        """CPU seconds (user and system, every thread) the workers have used so far."""
        return sum(process_cpu_s(p.pid) for p in self.procs)

    def workers_peak_rss_mb(self) -> float:
        return round(sum(process_peak_rss_mb(p.pid) for p in self.procs), 1)

    def close(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait(timeout=30)
        self.app.store.close()


def throughput(url: str, n: int, batch: int, workers: int, slice_size: int = 100) -> dict:
    bench = Bench(url, workers, batch, slice_size)
    try:
        events = [trigger(i, "t") for i in range(n)]
        time.sleep(1.5)  # let the workers start, so start-up is not counted
        workers_cpu, own_cpu = bench.workers_cpu_s(), time.process_time()
        start = time.perf_counter()
        sent, last_report, done, counted, looked, checked = 0, start, 0, start, start, start
        while done < n:
            if sent < n:
                bench.send(events[sent : sent + batch])
                sent += batch
            # The outside world looks for notices to reply to every 50 ms, and counts completed
            # journeys (a read of the whole table) every 50 ms once every reply has gone, every
            # second before: its polling should not take the cores the engine is measured on.
            if time.perf_counter() - looked >= 0.05:
                bench.reply_to_notified()
                looked = time.perf_counter()
            elif sent >= n:
                time.sleep(0.01)
            if time.perf_counter() - counted >= (0.05 if len(bench.replied) >= n else 1.0):
                # Counted from what is new; the whole table is counted once that says all are done,
                # and every second as a backstop.
                if bench.completed_lately() >= n or time.perf_counter() - checked >= 1.0:
                    done, checked = bench.completed(), time.perf_counter()
                counted = time.perf_counter()
            if time.perf_counter() - last_report > 2:
                last_report = time.perf_counter()
                say(f"  throughput: {done:,}/{n:,} journeys completed")
        elapsed = time.perf_counter() - start
        workers_cpu, own_cpu = bench.workers_cpu_s() - workers_cpu, time.process_time() - own_cpu
        with bench.app.store.reader.connect() as conn:
            written = sum(conn.execute(select(func.count()).select_from(t)).scalar()
                          for t in (inbox, journeys, timeline, outbox, timers, deliveries))
        workers_rss = bench.workers_peak_rss_mb()
    finally:
        bench.close()
    return {"seconds": elapsed, "journeys_per_s": n / elapsed, "events_per_s": 2 * n / elapsed,
            "rows_written": written, "rows_per_s": written / elapsed, "workers_peak_rss_mb": workers_rss,
            "workers_cpu_ms_per_event": 1000 * workers_cpu / (2 * n), "intake_cpu_ms_per_event": 1000 * own_cpu / (2 * n)}


def latency(url: str, rate: int, seconds: float, batch: int, workers: int, slice_size: int = 100) -> dict:
    """Offer `rate` events a second (triggers and their replies), then measure, per journey,
    acceptance of the trigger at intake to the first effect done (the decision)."""
    bench = Bench(url, workers, batch, slice_size)
    try:
        time.sleep(1.5)
        journeys_per_s = rate / 2
        total = int(journeys_per_s * seconds)
        tick = 0.01
        per_tick = journeys_per_s * tick
        start, sent = time.perf_counter(), 0
        while sent < total:
            due = int(min(total, (time.perf_counter() - start) / tick * per_tick + per_tick))
            if due > sent:
                bench.send([trigger(i, "l") for i in range(sent, due)])
                sent = due
            bench.reply_to_notified()
            time.sleep(max(0.0, tick - (time.perf_counter() - start) % tick))
        offered_for = time.perf_counter() - start
        deadline = time.perf_counter() + 120
        while bench.completed() < total and time.perf_counter() < deadline:
            bench.reply_to_notified()
            time.sleep(0.02)
        with bench.app.store.reader.connect() as conn:
            first = (select(inbox.c.received_at, outbox.c.done_at)
                     .join(journeys, journeys.c.person == inbox.c.subject)
                     .join(outbox, (outbox.c.journey_id == journeys.c.id) & (outbox.c.step == "assess"))
                     .where(inbox.c.type == "bench.case.opened", outbox.c.status == "done"))
            pairs = conn.execute(first).all()
    finally:
        bench.close()
    waits = sorted((utc(done) - utc(accepted)).total_seconds() * 1000 for accepted, done in pairs)
    q = statistics.quantiles(waits, n=100)
    return {"offered_events_per_s": rate, "achieved_offer_per_s": 2 * total / offered_for,
            "measured": len(waits), "p50_ms": q[49], "p99_ms": q[98], "max_ms": waits[-1]}


def floor(url: str, n: int, batch: int) -> dict:
    """Batched inserts of the minimal rows the same flows need, into the same tables, by the
    engine's own driver-level path: what the work would cost if writing were all it did."""
    app = build(Settings(database_url=url, pack_dir=PACK, log_level="WARNING", **KEY_SETTINGS),
                clock=SystemClock())
    now = datetime.now(timezone.utc)
    bulk = app.store.bulk
    start = time.perf_counter()
    rows = 0
    for lo in range(0, n, batch):
        ids = range(lo, min(n, lo + batch))
        with app.store.engine.begin() as conn:
            bulk.insert(conn, inbox, [
                {"source": SOURCE, "event_id": f"f{i}-{k}", "type": "bench.case.opened", "subject": f"p{i}",
                 "partition": i % 64, "time": now, "data": {"n": i}, "digest": "-", "received_at": now,
                 "status": "processed", "process_count": 1} for i in ids for k in range(3)])
            bulk.insert(conn, journeys, [
                {"id": f"j{i}", "moment": "bench", "person": f"p{i}", "status": "completed", "version": 1,
                 "started_at": now, "updated_at": now, "state": {}} for i in ids])
            bulk.insert(conn, outbox, [
                {"key": f"j{i}:{k}", "journey_id": f"j{i}", "person": f"p{i}", "step": k, "kind": "notify",
                 "payload": {}, "status": "done", "attempts": 1, "max_attempts": 5, "backoff_seconds": 2,
                 "next_attempt_at": now, "created_at": now} for i in ids for k in ("a", "b", "c")])
            bulk.insert(conn, timers, [
                {"id": f"j{i}:t", "journey_id": f"j{i}", "person": f"p{i}", "step": "answer", "due_at": now,
                 "status": "cancelled"} for i in ids])
        rows += len(ids) * MINIMAL_ROWS_PER_FLOW
    elapsed = time.perf_counter() - start
    app.store.close()
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
    parser.add_argument("--batch", type=int, default=200, help="events and effects per transaction")
    parser.add_argument("--rate", type=int, default=1000, help="offered load for the latency run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--peer-sample", type=int, default=2000, help="flows each peer runs")
    parser.add_argument("--workers", type=int, default=1, help="civic worker processes")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--slice", type=int, default=100, help="CIVIC_SLICE_SIZE for the workers (0: whole batches)")
    add_quick(parser, events=300, seconds=2.0, rate=300, no_peers=True)
    args = parser.parse_args()
    apply_quick(args, args.out)
    if args.events < 1 or args.peer_sample < 1:
        parser.error("--events and --peer-sample must be positive")

    with tempfile.TemporaryDirectory(prefix="civic-bench-") as tmp:
        work = Path(tmp)
        say(f"throughput: {args.events:,} journeys on {args.db}")
        with fresh_database(args.db, work, "throughput") as url:
            tp = throughput(url, args.events, args.batch, args.workers, args.slice)
        say(f"latency: {args.rate:,} events/s offered for {args.seconds:g} s")
        with fresh_database(args.db, work, "latency") as url:
            lat = latency(url, args.rate, args.seconds, args.batch, args.workers, args.slice)
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
        "slice": args.slice,
        "events_per_s": round(tp["events_per_s"], 1),
        "journeys_per_s": round(tp["journeys_per_s"], 1),
        "seconds": round(tp["seconds"], 2),
        "p50_ms": round(lat["p50_ms"], 1),
        "p99_ms": round(lat["p99_ms"], 1),
        "latency": {k: round(v, 1) if isinstance(v, float) else v for k, v in lat.items()},
        "rows_per_s": round(tp["rows_per_s"], 1),
        "floor_rows_per_s": round(fl["floor_rows_per_s"], 1),
        "floor_journeys_per_s": round(fl["floor_journeys_per_s"], 1),
        "share_of_floor": round(tp["journeys_per_s"] / fl["floor_journeys_per_s"], 3),
        "workers_peak_rss_mb": tp["workers_peak_rss_mb"],
        "workers_cpu_ms_per_event": round(tp["workers_cpu_ms_per_event"], 3),
        "intake_cpu_ms_per_event": round(tp["intake_cpu_ms_per_event"], 3),
        "peers": peers,
    }
    emit(figures, args.out, quick=args.quick)

if __name__ == "__main__":
    main()
