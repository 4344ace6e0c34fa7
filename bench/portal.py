"""The portal benchmark: signed-in people reading their inbox, plan and services pages.

    python bench/portal.py --people N [--users 50] [--rate 200] [--seconds 20] [--quick] --json OUT.json

Set-up (not timed): N people in the registry, 50 of them with a job-loss journey and its
messages; ``civic serve`` in demo mode as its own process, on SQLite; each of the 50
signs in through the demo OpenID provider and keeps their session cookie.

Then, from this process: an open-loop load (requests sent on a fixed schedule at
``--rate`` a second, whatever the answers' speed) over the inbox, plan and services
pages, and a closed loop (16 clients, each sending its next request when the last is
answered) for the saturated throughput. Writes p50_ms, p95_ms, p99_ms, requests_per_s (achieved,
open loop), max_requests_per_s (closed loop), the server's CPU time per request in the open loop
(server_cpu_ms_per_request: its web processes and the parent running the engine, which a loaded
machine moves less than it moves the latencies) and its peak_rss_mb.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from civicmoments.adapters.store.schema import people
from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.domain.ids import uuid7
from civicmoments.settings import Settings
from common import (
    KEY_SETTINGS,
    KEYS,
    add_quick,
    apply_quick,
    emit,
    free_port,
    process_cpu_s,
    process_peak_rss_mb,
    say,
    stop,
    wait_until_up,
)

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("/inbox", "/plan", "/services")
EMPLOYER = "https://northfield.example/hr"


def seed(app, n: int, users: int) -> list[str]:
    rng, store, now = random.Random(3), app.registry.store, datetime.now(timezone.utc)
    older = now - timedelta(days=400)
    ids = [uuid7() for _ in range(n)]
    for lo in range(0, n, 10_000):
        chunk, rows = ids[lo:lo + 10_000], []
        for pid in chunk:
            values = {"given_name": rng.choice(["Abe", "Ana", "Ben", "Cara"]), "family_name": "Smith",
                      "date_of_birth": f"19{rng.randint(60, 99)}-05-1{rng.randint(0, 9)}", "home_area": "Leeds",
                      "occupation": "welder", "employment_status": "employed", "employer": "Northfield",
                      "class1_earnings_last_year_pence": 3_000_000, "class1_earnings_year_before_pence": 2_900_000}
            rows += [{"person_id": pid, "attribute": k, "value": v, "source": "bench", "basis": "register",
                      "tier": "gold", "observed_at": older, "valid_from": older, "recorded_at": now}
                     for k, v in values.items()]
        with store.engine.begin() as conn:
            store.bulk.insert(conn, people, [{"id": p, "created_at": now, "merged_into": None} for p in chunk])
            store.insert_facts(conn, rows)
    chosen = ids[:users]
    employer, _ = app.organisations.add("Northfield", [EMPLOYER], ["uk.gov.dwp.employment.*"])
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": EMPLOYER, "id": f"N-{pid}", "subject": pid,
                                  "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 40}}
                                 for pid in chosen])
    app.worker.drain()
    return chosen


def sign_in(url: str, person: str) -> httpx.Client:
    c = httpx.Client(base_url=url, follow_redirects=True, timeout=30)
    page = c.get("/sign-in")
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text.split("<form", 2)[1]))
    fields["sub"] = person
    done = c.post("/demo-idp/authorize", data=fields)
    if done.status_code != 200 or "sign-out" not in done.text:
        raise SystemExit(f"could not sign in {person}: HTTP {done.status_code}")
    return c


# A browser fleet reuses connections: 32 at most, kept alive for less than uvicorn's 5 s. Time spent
# waiting for a free connection counts in the latency, as the clock starts at the scheduled moment.
# The wait is a semaphore's, not the connection pool's: httpcore's pool does work for every request
# queued in it on each answer, so a backlog of thousands made this process, not the server, the
# bottleneck (the server sat idle while requests timed out in the pool).
CONNECTIONS = 32
LIMITS = httpx.Limits(max_connections=CONNECTIONS, keepalive_expiry=2.0)


async def open_loop(url: str, cookies: list, rate: float, seconds: float) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    gate = asyncio.Semaphore(CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=LIMITS) as client:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = due
            try:
                async with gate:
                    r = await client.get(PAGES[i % len(PAGES)], cookies=cookies[i % len(cookies)])
            except httpx.HTTPError:
                errors += 1
                return
            if r.status_code != 200:
                raise SystemExit(f"{PAGES[i % len(PAGES)]} answered {r.status_code}")
            latencies.append((time.perf_counter() - sent) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    return sorted(latencies), len(latencies) / elapsed, errors


async def closed_loop(url: str, cookies: list, clients: int, seconds: float) -> float:
    done = 0
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=LIMITS) as client:
        stop = time.perf_counter() + seconds

        async def worker(k: int) -> None:
            nonlocal done
            i = k
            while time.perf_counter() < stop:
                await client.get(PAGES[i % len(PAGES)], cookies=cookies[i % len(cookies)])
                done += 1
                i += clients

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        return done / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--web-processes", type=int, default=2, help="processes serving pages (CIVIC_WEB_PROCESSES)")
    ap.add_argument("--warm-up", type=float, default=10, help="seconds of closed-loop load before measuring")
    ap.add_argument("--saturate", type=float, default=10, help="seconds of the closed loop")
    ap.add_argument("--json", type=Path, default=None)
    add_quick(ap, people=300, users=6, rate=50, seconds=2, warm_up=1, saturate=2, web_processes=1)
    args = ap.parse_args()
    apply_quick(args, args.json)
    if args.people < args.users or args.users < 1:
        ap.error("--people must be at least --users, and --users at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = Settings(data_dir=Path(tmp), log_level="ERROR", **KEY_SETTINGS)
        from civicmoments import logs

        logs.configure("ERROR", True)
        app = build(settings, clock=SystemClock())
        say(f"loading {args.people:,} people; journeys for {args.users} ...")
        users = seed(app, args.people, args.users)
        app.store.close()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}, **KEYS,
               "CIVIC_DATA_DIR": tmp, "CIVIC_PORT": str(port), "CIVIC_PUBLIC_URL": url, "CIVIC_DEMO_MODE": "true",
               "CIVIC_SESSION_SECRET": "bench", "CIVIC_LOG_LEVEL": "ERROR",
               "CIVIC_WEB_PROCESSES": str(args.web_processes)}
        server_log = Path(tmp) / "serve.log"
        with server_log.open("wb") as err:
            server = subprocess.Popen([sys.executable, "-m", "civicmoments.cli", "serve"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_until_up(url, server, "civic serve", server_log)
            say(f"signing in {args.users} people ...")
            cookies = []
            for pid in users:
                c = sign_in(url, pid)
                cookies.append(dict(c.cookies))
                c.close()
            say("warming up ...")
            asyncio.run(closed_loop(url, cookies, 8, args.warm_up))  # every process sees every user: caches warm
            say(f"open loop: {args.rate:g} requests a second for {args.seconds:g} s ...")
            cpu_before = process_cpu_s(server.pid)
            latencies, achieved, errors = asyncio.run(open_loop(url, cookies, args.rate, args.seconds))
            cpu_ms = (process_cpu_s(server.pid) - cpu_before) * 1000 / max(1, len(latencies))
            say(f"closed loop: 16 clients for {args.saturate:g} s ...")
            saturated = asyncio.run(closed_loop(url, cookies, 16, args.saturate))

            def pct(p: float) -> float:
                return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

            emit({"benchmark": "portal", "db": "sqlite", "people": args.people, "users": args.users,
                  "web_processes": args.web_processes, "offered_per_s": args.rate, "requests": len(latencies),
                  "errors": errors, "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
                  "server_cpu_ms_per_request": round(cpu_ms, 2),
                  "requests_per_s": round(achieved, 1), "max_requests_per_s": round(saturated, 1),
                  "server_peak_rss_mb": process_peak_rss_mb(server.pid), "pages": list(PAGES),
                  "target": {"p99_ms": 100, "offered_per_s": 200}}, args.json, quick=args.quick)
        finally:
            stop(server)


if __name__ == "__main__":
    main()
