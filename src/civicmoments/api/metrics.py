"""/metrics in the Prometheus text format, and the shape of /healthz.

Two kinds of figure:

- read from the database at scrape time, so every web process reports the same: engine
  liveness and lag, journeys by moment and status, outbox and inbox depth, dead letters,
  quarantine, messages by channel and status, case backlog and service-level breaches;
- counted inside each process (adapters/telemetry.py): intake by type and outcome, step and
  effect latency. With ``PROMETHEUS_MULTIPROC_DIR`` set, every process writes its own there and
  the scrape sums them (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from ..adapters.store.operations import OperationsStore
from ..adapters.telemetry import instruments


class EngineState(BaseModel):
    running: bool
    engines: int
    restarts: int
    last_error: str | None


class Backlog(BaseModel):
    pending: int
    quarantined: int
    lag_seconds: float


class Health(BaseModel):
    status: str  # ok | failing
    engine: EngineState
    events: Backlog


class _EngineCollector:
    def __init__(self, civic) -> None:
        self.civic = civic

    def collect(self):
        report = self.civic.engine_health()
        engine, events = report["engine"], report["events"]
        for name, doc, value in (
            ("civic_engine_up", "1 when an engine is running, else 0", int(engine["running"])),
            ("civic_engine_running", "engines running (heartbeat within the stale interval)", engine["engines"]),
            ("civic_engine_restarts", "times the engine thread was restarted after it died", engine["restarts"]),
            ("civic_engine_lag_seconds", "age of the oldest event waiting to be processed", events["lag_seconds"]),
            ("civic_events_pending", "events waiting to be processed", events["pending"]),
            ("civic_events_quarantined", "events set aside because they could not be processed",
             events["quarantined"]),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


class _OperationsCollector:
    """Depths and backlogs, read from the database when scraped."""

    def __init__(self, civic) -> None:
        self.civic = civic

    def collect(self):
        snap = OperationsStore(self.civic.store.reader).snapshot(self.civic.clock.now())
        j = GaugeMetricFamily("civic_journeys", "journeys by moment and status", labels=("moment", "status"))
        for moment, status, n in snap["journeys"]:
            j.add_metric((moment, status), n)
        yield j
        outbox = dict(((s, n) for s, n in snap["outbox"]))
        inbox = dict(((s, n) for s, n in snap["inbox"]))
        yield GaugeMetricFamily("civic_outbox_depth", "effects waiting or being performed",
                                value=outbox.get("pending", 0) + outbox.get("inflight", 0))
        yield GaugeMetricFamily("civic_inbox_depth", "events waiting to be processed", value=inbox.get("pending", 0))
        yield GaugeMetricFamily("civic_dead_letters", "effects given up on after their retries",
                                value=outbox.get("dead", 0))
        yield GaugeMetricFamily("civic_quarantine_size", "events set aside because they failed in processing",
                                value=inbox.get("quarantined", 0))
        m = GaugeMetricFamily("civic_messages", "messages by the channel of their latest attempt and their status",
                              labels=("channel", "status"))
        for channel, status, n in snap["messages"]:
            m.add_metric((channel, status), n)
        yield m
        b = GaugeMetricFamily("civic_case_backlog", "cases not yet resolved, by queue", labels=("queue",))
        for queue, n in snap["backlog"]:
            b.add_metric((queue,), n)
        yield b
        s = GaugeMetricFamily("civic_case_sla_breaches", "unresolved cases past their due date, by queue",
                              labels=("queue",))
        for queue, n in snap["breaches"]:
            s.add_metric((queue,), n)
        yield s


def prometheus_text(civic) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EngineCollector(civic))
    registry.register(_OperationsCollector(civic))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for instrument in instruments():
            registry.register(instrument)
    return generate_latest(registry), CONTENT_TYPE_LATEST

