"""The registry benchmark: profile projection, batched gate checks and access-log appends.

    python bench/registry.py --people N --db sqlite|postgres [--quick] --json OUT.json

Writes profile_build_s (N people x 20 attributes), gate_checks_per_s (``--check-batch`` people
per call, each check logged; gate_checks_per_cpu_s is the same work per second of this process's
CPU time, steadier on a shared machine), audit_appends_per_s, audit_verify_entries_per_s and
peak_rss_mb. Loading the synthetic facts is set-up and is
reported separately as load_s.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from civicmoments.adapters.store.schema import people
from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.domain.ids import uuid7
from civicmoments.settings import Settings
from common import KEY_SETTINGS, add_quick, apply_quick, emit, fresh_database, say

ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTES = ["given_name", "family_name", "date_of_birth", "postcode", "home_area", "email", "phone",
              "preferred_channel", "household_size", "children_under_16", "employment_status", "occupation",
              "employer", "skills", "aspirations", "travel_radius_miles", "annual_earnings_pence",
              "class1_contribution_years", "jsa_claimant", "highest_qualification"]


def value(attr: str, i: int, rnd: random.Random):
    if attr in ("household_size", "children_under_16", "travel_radius_miles", "annual_earnings_pence",
                "class1_contribution_years"):
        return rnd.randint(0, 40)
    if attr == "jsa_claimant":
        return rnd.random() < 0.1
    if attr == "date_of_birth":
        return f"19{rnd.randint(40, 99)}-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}"
    if attr == "preferred_channel":
        return rnd.choice(["app", "email", "sms", "letter"])
    if attr == "employment_status":
        return rnd.choice(["employed", "unemployed", "retired"])
    return f"{attr}-{i % 997}"


def load(app, n: int, batch: int, keep: int) -> list[str]:
    """n people, 20 attributes each; a fifth of the attributes also have a newer bronze fact.
    Returns the ids of the first ``keep`` people (the rest are not held: memory stays within a batch)."""
    rnd = random.Random(42)
    store, now = app.registry.store, datetime.now(timezone.utc)
    older = now - timedelta(days=30)
    tiers = [("gold", "register"), ("silver", "verified")]
    ids: list[str] = []
    for lo in range(0, n, batch):
        chunk = [uuid7() for _ in range(min(batch, n - lo))]
        ids.extend(chunk[: max(0, keep - len(ids))])
        rows = []
        for j, pid in enumerate(chunk):
            for k, attr in enumerate(ATTRIBUTES):
                tier, basis = tiers[(j + k) % 2]
                rows.append({"person_id": pid, "attribute": attr, "value": value(attr, lo + j, rnd),
                             "source": "bench", "basis": basis, "tier": tier, "observed_at": older,
                             "valid_from": older, "recorded_at": now})
                if k % 5 == 0:
                    rows.append({"person_id": pid, "attribute": attr, "value": value(attr, lo + j + 1, rnd),
                                 "source": "self", "basis": "declared", "tier": "bronze", "observed_at": now,
                                 "valid_from": now, "recorded_at": now})
        with store.engine.begin() as conn:
            store.bulk.insert(conn, people, [{"id": p, "created_at": now, "merged_into": None} for p in chunk])
            store.insert_facts(conn, rows)
        if (lo // batch) % 10 == 0:
            say(f"  loaded {lo + len(chunk):,}/{n:,} people")
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", dest="out", type=Path)
    parser.add_argument("--batch", type=int, default=10_000, help="people per batch")
    parser.add_argument("--checks", type=int, default=200_000, help="gate checks to time")
    parser.add_argument("--check-batch", type=int, default=1000, help="people per gate check call")
    parser.add_argument("--appends", type=int, default=100_000, help="access-log entries to append")
    add_quick(parser, people=300, batch=100, checks=300, check_batch=100, appends=300)
    args = parser.parse_args()
    apply_quick(args, args.out)
    if args.people < 1 or args.check_batch < 1:
        parser.error("--people and --check-batch must be positive")
    with tempfile.TemporaryDirectory(prefix="civic-registry-") as tmp, \
            fresh_database(args.db, Path(tmp), "registry") as url:
        app = build(Settings(database_url=url, pack_dir=ROOT / "packs" / "uk", log_level="WARNING",
                             data_dir=Path(tmp), **KEY_SETTINGS), clock=SystemClock())
        say(f"loading {args.people:,} people x {len(ATTRIBUTES)} attributes on {args.db}")
        t = time.perf_counter()
        ids = load(app, args.people, args.batch, keep=max(args.checks, args.appends))
        load_s = time.perf_counter() - t
        facts_n = args.people * (len(ATTRIBUTES) + len(ATTRIBUTES) // 5)

        say("profile projection")
        t, seen, attrs = time.perf_counter(), 0, 0
        for part in app.registry.store.profile_batches(args.batch):
            seen += len(part)
            attrs += sum(len(v) for v in part.values())
            if seen % (args.batch * 20) == 0:
                say(f"  projected {seen:,}/{args.people:,}")
        profile_s = time.perf_counter() - t
        assert seen == args.people and attrs == args.people * len(ATTRIBUTES)

        say("gate checks, batched")
        app.organisations.add("Metro", ["m"], [])
        app.agreements.put("metro", "Metro", "fare-concession", [], "identified", 1, ["active-jobseeker"])
        metro = app.store.organisation("Metro")["id"]
        sample = ids[: min(args.checks, len(ids))]
        t, cpu = time.perf_counter(), time.process_time()
        answered, step = 0, args.check_batch
        for lo in range(0, len(sample), step):
            answers = app.gate.check(metro, "fare-concession", sample[lo : lo + step], "active-jobseeker")
            answered += sum(isinstance(a, bool) for a in answers)
        checks_s, checks_cpu_s = time.perf_counter() - t, time.process_time() - cpu
        assert answered == len(sample)

        say("access-log appends")
        bodies = [{"at": "2026-01-01T00:00:00Z", "recipient": "r", "purpose": "p", "person": p, "channel": "bench",
                   "outcome": "disclosed", "attributes": ["occupation"]} for p in ids[: args.appends]]
        t = time.perf_counter()
        for lo in range(0, len(bodies), 1000):
            app.audit.append(bodies[lo : lo + 1000])
        audit_s = time.perf_counter() - t
        t = time.perf_counter()
        report = app.audit.verify()
        verify_s = time.perf_counter() - t
        assert report.intact
        app.store.close()

    figures = {
        "db": args.db,
        "people": args.people,
        "facts": facts_n,
        "load_s": round(load_s, 1),
        "profile_build_s": round(profile_s, 2),
        "profiles_per_s": round(args.people / profile_s),
        "gate_checks": len(sample),
        "gate_check_batch": args.check_batch,
        "gate_checks_per_s": round(len(sample) / checks_s),
        "gate_checks_per_cpu_s": round(len(sample) / checks_cpu_s),
        "audit_appends": len(bodies),
        "audit_appends_per_s": round(len(bodies) / audit_s),
        "audit_verify_entries_per_s": round(report.entries / verify_s),
    }
    emit(figures, args.out, quick=args.quick)

if __name__ == "__main__":
    main()
