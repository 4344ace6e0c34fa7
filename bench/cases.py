"""The staff console benchmark: queue pages and single views under load, and a layoff's cases.

    python bench/cases.py --cases 100000 [--officers 200] [--rate 50] [--seconds 20] --json OUT.json

Set-up (not timed): people in the registry (bench/portal.py's seed), 200 officers across the
roles, and 100,000 open cases spread over every declared queue, in batches through
`app.cases.open_many`. Timed in this process: a 10,000-person layoff opening its 10,000
`job-matching` cases in one call. Then `civic serve` on SQLite as its own process; 20 officers
sign in through the demo OpenID provider (`--web-processes` serving, 2 by default); an open loop at --rate requests a second (sent on a
fixed schedule whatever the answers' speed) over their queue pages (the 50 soonest due, with
badges) and single views of people on their cases (each view read through the privacy gate and
logged). Writes p50/p99 per page kind, the layoff's seconds, and the one-minute load average
before and after the open loop (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.settings import Settings
from common import KEY_SETTINGS, KEYS, emit, free_port, say, wait_until_up
from portal import seed as seed_people

ROOT = Path(__file__).resolve().parents[1]
ROLES = (("work-coach", 120), ("decision-maker", 50), ("team-leader", 20), ("auditor", 10))
LIMITS = httpx.Limits(max_connections=32, keepalive_expiry=2.0)


def seed(app, cases: int, officers: int, people: list[str]) -> list[str]:
    """Officers across the roles and open cases across every queue; the officers' subjects."""
    subjects, n = [], 0
    for role, share in ROLES:
        for _ in range(round(officers * share / 200)):
            n += 1
            subject = f"bench-officer-{n}"
            org = "metro-transit" if role == "agency-partner" else "employment-department"
            app.officers.add(f"Officer {n}", subject, org, [role])
            subjects.append(subject)
    queues = sorted(q for q in app.cases.queues if q != "fare-dispute") + ["fare-dispute"]
    rng = random.Random(7)
    for lo in range(0, cases, 10_000):
        app.cases.open_many([{"queue": queues[i % len(queues)], "person": rng.choice(people),
                              "reason": "Benchmark case", "key": f"bench:{i}"}
                             for i in range(lo, min(cases, lo + 10_000))])
    return subjects


def sign_in(url: str, subject: str) -> dict:
    with httpx.Client(base_url=url, timeout=30) as c:
        q = {k: v[0] for k, v in parse_qs(urlparse(c.get("/staff/sign-in").headers["location"]).query).items()}
        chosen = c.post("/demo-idp/authorize", data={**{k: q.get(k, "") for k in (
            "redirect_uri", "state", "nonce", "code_challenge", "client_id")}, "sub": subject})
        back = c.get(chosen.headers["location"])
        if back.status_code != 303:
            raise SystemExit(f"officer {subject} could not sign in: HTTP {back.status_code}")
        return dict(c.cookies)


async def open_loop(url: str, plan: list[tuple[str, str, dict]], rate: float) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=LIMITS) as client:
        start = time.perf_counter()

        async def one(i: int) -> None:
            kind, path, cookies = plan[i]
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            r = await client.get(path, cookies=cookies)
            if r.status_code != 200:
                raise SystemExit(f"{path} answered {r.status_code}")
            found.setdefault(kind, []).append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(len(plan))))
    return {k: sorted(v) for k, v in found.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--officers", type=int, default=200)
    ap.add_argument("--layoff", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--web-processes", type=int, default=2, help="processes serving pages (CIVIC_WEB_PROCESSES)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        from civicmoments import logs

        logs.configure("ERROR", True)
        app = build(Settings(data_dir=Path(tmp), log_level="ERROR", **KEY_SETTINGS), clock=SystemClock())
        say(f"loading {args.people:,} people, {args.officers} officers, {args.cases:,} open cases ...")
        seed_people(app, args.people, 1)
        people = list(next(iter(app.registry.store.people_pages(args.people)), []))
        subjects = seed(app, args.cases, args.officers, people)
        say(f"a layoff: {args.layoff:,} job-matching cases in one call ...")
        laid_off = people[:args.layoff]
        began = time.perf_counter()
        app.cases.open_many([{"queue": "job-matching", "person": p, "reason": "Redundancy: match jobs",
                              "key": f"layoff:{p}"} for p in laid_off])
        layoff_s = time.perf_counter() - began
        officers = {o.subject: o for o in app.officers.list()}
        coaches = [s for s in subjects if "work-coach" in officers[s].roles][:10]
        makers = [s for s in subjects if "decision-maker" in officers[s].roles][:10]
        views = {s: [c.person for c in app.cases.list(officer=officers[s], limit=50)] for s in coaches + makers}
        app.store.close()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}, **KEYS,
               "CIVIC_DATA_DIR": tmp, "CIVIC_PORT": str(port), "CIVIC_PUBLIC_URL": url, "CIVIC_DEMO_MODE": "true",
               "CIVIC_SESSION_SECRET": "bench", "CIVIC_LOG_LEVEL": "ERROR",
               "CIVIC_WEB_PROCESSES": str(args.web_processes)}
        server_log = Path(tmp) / "serve.log"
        with server_log.open("wb") as err:  # a file, never a pipe that fills and blocks the server
            server = subprocess.Popen([sys.executable, "-m", "civicmoments.cli", "serve"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_until_up(url, server, "civic serve", server_log)
            cookies = {s: sign_in(url, s) for s in coaches + makers}
            plan = []
            for i in range(int(args.rate * args.seconds)):
                s = (coaches + makers)[i % len(cookies)]
                if i % 2:
                    plan.append(("single_view", f"/staff/people/{views[s][i % len(views[s])]}", cookies[s]))
                else:
                    queue = "job-matching" if s in coaches else "decision-review"
                    plan.append(("queue", f"/staff/queues/{queue}", cookies[s]))
            say("warming up ...")
            asyncio.run(open_loop(url, plan[:100], args.rate))
            say(f"open loop: {args.rate:g} requests a second for {args.seconds:g} s ...")
            load_before = os.getloadavg()[0]
            found = asyncio.run(open_loop(url, plan, args.rate))
            load_after = os.getloadavg()[0]  # the machine is shared: how busy it was while measured

            def pct(v: list[float], p: float) -> float:
                return round(v[min(len(v) - 1, int(p * len(v)))], 1)

            emit({"benchmark": "cases", "db": "sqlite", "cases": args.cases, "queues": len(app.cases.queues),
                  "officers": len(subjects), "people": args.people, "offered_per_s": args.rate,
                  "web_processes": args.web_processes,
                  **{f"{k}_p50_ms": pct(v, 0.5) for k, v in found.items()},
                  **{f"{k}_p99_ms": pct(v, 0.99) for k, v in found.items()},
                  "requests": sum(len(v) for v in found.values()), "layoff_cases": args.layoff,
                  "layoff_open_s": round(layoff_s, 2),
                  "load_average_1m": {"before": round(load_before, 2), "after": round(load_after, 2)},
                  "target": {"p99_ms": 100, "offered_per_s": 50, "layoff_open_s": 5}}, args.json)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
