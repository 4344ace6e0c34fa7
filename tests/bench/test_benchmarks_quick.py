"""Every benchmark still runs: each in its quick mode, as its own process, as `make bench` runs it.

A benchmark that no longer runs on the current code, or stops writing one of its figures,
fails here. Nothing asserts a time: on a shared machine times vary, and figures come from
full runs (`make bench`) only. The quick mode runs our side only; the peers (DBOS,
SpiffWorkflow) stay in `make bench`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"

# What every benchmark writes, quick or full.
COMMON = ["quick", "peak_rss_mb", "machine", "measured_at"]

# Per benchmark: the keys its JSON has in a full run, and the item count the
# quick mode runs (key, value), which proves the run was quick and complete.
BENCHMARKS = {
    "engine": (["db", "events", "journeys", "events_per_s", "journeys_per_s", "seconds", "p50_ms", "p99_ms",
                "latency", "rows_per_s", "floor_rows_per_s", "floor_journeys_per_s", "share_of_floor",
                "workers_peak_rss_mb", "workers_cpu_ms_per_event", "intake_cpu_ms_per_event", "peers"], ("journeys", 300)),
    "registry": (["db", "people", "facts", "load_s", "profile_build_s", "profiles_per_s", "gate_checks",
                  "gate_check_batch", "gate_checks_per_s", "gate_checks_per_cpu_s", "audit_appends", "audit_appends_per_s", "audit_verify_entries_per_s"],
                 ("people", 300)),
    "sweep": (["people", "milestones", "services", "crossings_found", "eligible_found", "sweep_s", "people_per_s",
               "per_person_extrapolated_s", "per_person_sample", "per_person_ratio"], ("people", 400)),
    "notify": (["benchmark", "db", "messages", "batch", "senders", "smtp_connections", "total_s", "messages_per_s",
                "p50_delivery_ms", "p95_delivery_ms", "max_delivery_ms", "share_within_1s", "cpu_ms_per_message",
                "senders_cpu_ms_per_message", "smtp_server", "smtp_server_cpu_ms_per_message", "target", "peer"],
               ("messages", 300)),
    "layoff": (["benchmark", "db", "people", "workers", "batch", "effect_batch", "slice", "total_s", "notices_per_s",
                "first_time_to_notice_ms", "p50_time_to_notice_ms", "p99_time_to_notice_ms", "last_time_to_notice_ms", "notices", "stored", "effects", "target",
                "workers_peak_rss_mb", "partner_peak_rss_mb", "scenario_allowance_ms"], ("notices", 200)),
    "portal": (["benchmark", "db", "people", "users", "web_processes", "offered_per_s", "requests", "errors",
                "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_request", "requests_per_s", "max_requests_per_s",
                "server_peak_rss_mb", "pages", "target"],
               ("people", 300)),
    "insights": (["db", "journeys", "rows", "load_s", "projection_s", "projected_journeys", "report_first_s",
                  "report_s", "split_online_s", "compare_s", "report_after_changes_s", "engine",
                  "load_average", "measures", "questions_change", "target"], ("journeys", 300)),
    "backbone": (["benchmark", "db", "events", "subscribers", "engine_events", "delivery", "engine"], ("events", 20)),
    "lifetime": (["db", "people", "day", "milestones_found", "eligibility_changes", "journeys_started",
                  "journeys_by_moment", "second_sweep_events", "load_s", "first_sweep_s", "sweep_s", "dispatch_s", "total_s",
                  "people_per_s", "target"], ("people", 400)),
    "payments": (["benchmark", "db", "awards", "payments", "total_pence", "files", "file_max_payments",
                  "largest_file_mb", "seed_s", "run_s", "payments_per_s", "target"], ("awards", 300)),
}


def bench_env() -> dict[str, str]:
    """The caller's environment without CIVIC_* settings: each benchmark makes its own keys."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}


def run(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *args], cwd=ROOT, env=bench_env(),
                          capture_output=True, text=True, timeout=300)


def results_digest() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(RESULTS.glob("*.json"))}


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_runs_quick_and_writes_every_figure(name: str, tmp_path: Path) -> None:
    keys, (count_key, count) = BENCHMARKS[name]
    out = tmp_path / f"{name}.json"
    before = results_digest()
    started = time.perf_counter()
    done = run(name, "--quick", "--json", str(out))
    took = time.perf_counter() - started
    assert done.returncode == 0, f"bench/{name}.py --quick failed:\n{done.stderr[-4000:]}"
    figures = json.loads(out.read_text())
    missing = [k for k in keys + COMMON if k not in figures]
    assert not missing, f"bench/{name}.py --quick did not write {missing}"
    assert figures["quick"] is True
    assert figures["peak_rss_mb"] > 0
    assert figures[count_key] == count, f"{count_key}: {figures[count_key]} (quick mode runs {count})"
    assert results_digest() == before, "a quick run changed the full-run figures in bench/results/"
    print(f"bench/{name}.py --quick: {took:.1f} s")


def test_quick_figures_are_refused_in_the_results_folder() -> None:
    before = results_digest()
    done = run("registry", "--quick", "--json", str(RESULTS / "registry-sqlite.json"))
    assert done.returncode != 0
    assert "--quick figures are not results" in done.stderr
    assert results_digest() == before
