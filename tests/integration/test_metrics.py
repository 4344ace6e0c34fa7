"""/metrics before and after a small run, parsed with prometheus-client's own parser: every
operational metric is there, and the counters moved by what the run did."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from civicmoments.api.app import create_app

from ..conftest import make_app
from .test_engine_flow import employer_of, job_ended

JOB_ENDED = "uk.gov.dwp.employment.job-ended"
NAMES = {"civic_intake_events", "civic_journeys", "civic_step_latency_seconds", "civic_effect_latency_seconds",
         "civic_outbox_depth", "civic_inbox_depth", "civic_dead_letters", "civic_quarantine_size", "civic_messages",
         "civic_case_backlog", "civic_case_sla_breaches"}


def scrape(client) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    out["_families"] = {f.name for f in text_string_to_metric_families(r.text)}
    return out


def total(samples: dict, name: str, **labels) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in ((k, v) for k, v in samples.items() if k != "_families")
               if n == name and want <= set(ls))


def test_metrics_move_by_what_a_small_run_did(db_url, clock):
    app = make_app(db_url, clock)
    client = TestClient(create_app(app))
    employer = employer_of(app, "m1", "m2", "m3")
    before = scrape(client)
    assert NAMES <= before["_families"], NAMES - before["_families"]
    receipts = app.intake.submit(employer, [job_ended(p, f"metrics-{p}") for p in ("m1", "m2", "m3")]
                                 + [job_ended("m1", "metrics-m1"),  # the same event again: a duplicate
                                    {**job_ended("m2", "metrics-bad"), "data": {"reason": 7}}])  # invalid
    assert [r.status for r in receipts] == ["accepted"] * 3 + ["duplicate", "rejected"]
    queued = scrape(client)
    assert total(queued, "civic_inbox_depth") - total(before, "civic_inbox_depth") == 3
    app.worker.drain()
    clock.advance(timedelta(days=4))  # the job-matching queue promises 3 days
    after = scrape(client)
    moved = [total(after, "civic_intake_events_total", type=JOB_ENDED, outcome=outcome)
             - total(before, "civic_intake_events_total", type=JOB_ENDED, outcome=outcome)
             for outcome in ("accepted", "duplicate", "rejected")]
    assert moved == [3, 1, 1]
    assert total(after, "civic_journeys", moment="job-loss", status="active") == 3
    assert total(after, "civic_step_latency_seconds_count", event_type=JOB_ENDED) \
        - total(before, "civic_step_latency_seconds_count", event_type=JOB_ENDED) == 3
    assert total(after, "civic_effect_latency_seconds_count") > total(before, "civic_effect_latency_seconds_count")
    assert total(after, "civic_inbox_depth") == 0 and total(after, "civic_outbox_depth") == 0
    assert total(after, "civic_case_backlog", queue="job-matching") == 3  # no JobMatch: a coach matches
    assert total(after, "civic_case_sla_breaches", queue="job-matching") == 3
    assert total(after, "civic_messages") - total(before, "civic_messages") == 3  # a notice each
    # no partner named JobMatch in these tests: each share is given up on at once
    assert total(after, "civic_dead_letters") == 3 and total(after, "civic_quarantine_size") == 0
    app.store.close()


def test_the_grafana_dashboard_uses_only_metrics_that_metrics_serves(sqlite_url, clock):
    import json
    import re

    from ..conftest import ROOT

    dashboard = json.loads((ROOT / "docs" / "grafana" / "civicmoments.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"civic_[a-z_]+", e)}
    app = make_app(sqlite_url, clock)
    served = scrape(TestClient(create_app(app)))["_families"]
    assert used and used <= served, used - served
    assert NAMES <= used  # and every operational metric is on the dashboard
    app.store.close()


def test_in_multiprocess_mode_the_scrape_sums_every_process(sqlite_url, clock, tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    from civicmoments.api.metrics import prometheus_text

    shared = tmp_path / "prometheus"
    shared.mkdir()
    count = "from civicmoments.adapters.telemetry import PrometheusTelemetry; PrometheusTelemetry().intake('t.x', 'accepted', 2)"
    for _ in range(2):  # two worker processes, each counting two events
        subprocess.run([sys.executable, "-c", count], env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)},
                       check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    app = make_app(sqlite_url, clock)
    body, _ = prometheus_text(app)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(body.decode()) for s in f.samples}
    assert samples[("civic_intake_events_total", (("outcome", "accepted"), ("type", "t.x")))] == 4
    assert ("civic_journeys", ()) not in samples and any(n == "civic_inbox_depth" for n, _ in samples)
    app.store.close()
