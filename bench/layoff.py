"""The mass-layoff benchmark: one employer reports N redundancies in one report.

    python bench/layoff.py --people N [--db sqlite|postgres] [--quick] --json OUT.json

Set-up (not timed): N people with gold facts from the registers (names, date of birth,
earnings, occupation in the partner's local economy, home town), each consenting to
share with JobMatch, the agreement, and the JobMatch partner running as its own process
with its 2,000-posting market. Timed: the report is accepted in one batch, and the
platform (``--workers`` processes of ``civic worker``, sharing the people; 0 runs the engine
in this process instead) runs the job-loss moment for everyone until every notice of
assistance is in its person's inbox. The report streams: the worker starts it ``--slice``
people at a time, each slice going on to its notices before the next one needs the effect
workers (``Worker.slice_size``). Each notice needs the career profile, an OpenFisca
decision, a signed, pseudonymised share with JobMatch and its ranked jobs, and the
rendered message.

Writes workers, total_s, notices_per_s, first/p50/p99/last time to notice (report accepted to notice
queued), peak_rss_mb (this process: the outside world, and the platform with ``--workers 0``),
workers_peak_rss_mb (the worker processes, added up), partner_peak_rss_mb, and the
scenario's allowance (30 minutes for one person's notice).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from civicmoments.adapters.store.schema import consents, inbox, messages, people
from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.domain.ids import uuid7
from civicmoments.settings import Settings
from common import (
    KEY_SETTINGS,
    add_quick,
    apply_quick,
    civic_env,
    emit,
    free_port,
    fresh_database,
    process_peak_rss_mb,
    say,
    start_workers,
    stop,
    wait_until_up,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from partners.jobmatch.market import generate, occupations  # noqa: E402 - the partner's own package

EMPLOYER = "https://northfield.example/hr"
TOWNS = ["Leeds", "Bradford", "Wakefield", "Huddersfield", "Harrogate", "Dewsbury", "Halifax", "Castleford"]


def seed(app, n: int) -> list[str]:
    rng = random.Random(11)
    market = generate("Leeds", 2000, 200, 7)
    economy = [occupations()[i].label for i in market.economy]
    store, now = app.registry.store, datetime.now(timezone.utc)
    older = now - timedelta(days=400)
    ids = [uuid7() for _ in range(n)]
    for lo in range(0, n, 2000):
        chunk = ids[lo:lo + 2000]
        rows, consent_rows = [], []
        for pid in chunk:
            values = {"given_name": rng.choice(["Abe", "Ana", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus"]),
                      "family_name": "Smith", "date_of_birth": f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-15",
                      "employment_status": "unemployed", "occupation": rng.choice(economy), "employer": "Northfield",
                      "home_area": rng.choice(TOWNS), "postcode": "LS1 4AP",
                      "class1_earnings_last_year_pence": rng.randint(1_500_000, 4_000_000),
                      "class1_earnings_year_before_pence": rng.randint(1_500_000, 4_000_000)}
            rows += [{"person_id": pid, "attribute": k, "value": v, "source": "bench", "basis": "register",
                      "tier": "gold", "observed_at": older, "valid_from": older, "recorded_at": now}
                     for k, v in values.items()]
            consent_rows.append({"id": uuid7(), "person_id": pid, "purpose": "employment-support",
                                 "notice_version": "2026-01", "state": "given", "at": now, "channel": "portal"})
        with store.engine.begin() as conn:
            store.bulk.insert(conn, people, [{"id": p, "created_at": now, "merged_into": None} for p in chunk])
            store.insert_facts(conn, rows)
            store.bulk.insert(conn, consents, consent_rows)
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=10_000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--batch", type=int, default=500, help="events per dispatcher transaction")
    ap.add_argument("--effect-batch", type=int, default=200, help="effects claimed at once")
    ap.add_argument("--slice", type=int, default=100, help="people of a report started at a time (0: all at once)")
    ap.add_argument("--workers", type=int, default=2, help="civic worker processes (0: the engine runs in this one)")
    ap.add_argument("--json", type=Path, default=None)
    add_quick(ap, people=200, batch=100, effect_batch=100)
    args = ap.parse_args()
    apply_quick(args, args.json)
    if args.people < 1:
        ap.error("--people must be at least 1")
    if args.workers < 0:
        ap.error("--workers must be 0 or more")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.db, Path(tmp), "layoff") as url:
        from civicmoments import logs

        logs.configure("ERROR", True)
        engine = {"data_dir": Path(tmp), "batch_size": args.batch, "effect_batch_size": args.effect_batch,
                  "slice_size": args.slice, "partner_urls": {"JobMatch": f"http://127.0.0.1:{port}/v1/profiles"}}
        settings = Settings(database_url=url, log_level="ERROR", **engine, **KEY_SETTINGS)
        app = build(settings, clock=SystemClock())
        employer, _ = app.organisations.add("Northfield", [EMPLOYER], ["uk.gov.dwp.employment.*"])
        app.organisations.add("JobMatch", ["https://jobmatch.example/*"], [])
        app.agreements.put("jobmatch-support", "JobMatch", "employment-support",
                           ["occupation", "skills", "home_area", "aspirations", "travel_radius_miles"])
        say(f"seeding {args.people:,} people ...")
        ids = seed(app, args.people)
        partner_log = Path(tmp) / "jobmatch.log"
        with partner_log.open("wb") as err:
            partner = subprocess.Popen([sys.executable, "-m", "partners.jobmatch", "--port", str(port),
                                        "--public-key", app.audit.public_key()], cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=err)
        workers: list[subprocess.Popen] = []
        try:
            wait_until_up(f"http://127.0.0.1:{port}", partner, "JobMatch", partner_log)
            if args.workers:
                say(f"starting {args.workers} worker(s) ...")
                workers = start_workers(civic_env(url, log_level="ERROR", **engine), args.workers)
            report = [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": EMPLOYER,
                       "id": f"N-{i}", "subject": pid,
                       "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 40}}
                      for i, pid in enumerate(ids)]
            say(f"reporting {args.people:,} redundancies in one report ...")
            started = time.perf_counter()
            receipts = app.intake.submit(employer, report)
            assert all(r.status == "accepted" for r in receipts), receipts[0]
            done, last = 0, started
            while done < args.people:
                if workers:
                    if any(w.poll() is not None for w in workers):
                        raise SystemExit("a worker ended before every notice was queued")
                    # The outside world looks four times a second: its count reads every message,
                    # and should not take the cores the platform is measured on (the times to
                    # notice come from each notice's own timestamp, not from this look).
                    time.sleep(0.25)
                else:
                    app.worker.run_once()
                with app.store.reader.connect() as conn:
                    done = conn.execute(select(func.count()).select_from(messages)
                                        .where(messages.c.template == "notice-of-assistance")).scalar()
                if time.perf_counter() - last > 2:
                    say(f"  {done:,}/{args.people:,} notices after {time.perf_counter() - started:.0f} s")
                    last = time.perf_counter()
            total = time.perf_counter() - started
            with app.store.reader.connect() as conn:
                accepted = dict(conn.execute(select(inbox.c.subject, inbox.c.received_at)
                                             .where(inbox.c.type == "uk.gov.dwp.employment.job-ended")).all())
                queued = conn.execute(select(messages.c.person_id, messages.c.created_at, messages.c.content)
                                      .where(messages.c.template == "notice-of-assistance")).all()
            waits = sorted((q.created_at - accepted[q.person_id]).total_seconds() * 1000 for q in queued)
            with_jobs = sum(1 for q in queued if q.content)  # every notice is stored (encrypted)
            state = app.store.counts()

            def pct(p: float) -> float:
                return round(waits[min(len(waits) - 1, int(p * len(waits)))], 1)

            emit({"benchmark": "layoff", "db": args.db, "people": args.people, "workers": args.workers,
                  "batch": args.batch,
                  "effect_batch": args.effect_batch, "slice": args.slice, "total_s": round(total, 2),
                  "notices_per_s": round(args.people / total, 1), "first_time_to_notice_ms": round(waits[0], 1),
                  "p50_time_to_notice_ms": pct(0.5), "p99_time_to_notice_ms": pct(0.99),
                  "last_time_to_notice_ms": round(waits[-1], 1), "notices": len(queued), "stored": with_jobs,
                  "effects": state["effects"], "target": {"people": 10_000, "last_time_to_notice_ms": 30_000, "p50_time_to_notice_ms": 5_000,
                             "first_time_to_notice_ms": 2_000},
                  "workers_peak_rss_mb": sum(process_peak_rss_mb(w.pid) for w in workers),
                  "partner_peak_rss_mb": process_peak_rss_mb(partner.pid),
                  "scenario_allowance_ms": 30 * 60 * 1000}, args.json, quick=args.quick)
        finally:
            for w in workers:
                stop(w)
            stop(partner)


if __name__ == "__main__":
    main()
