"""/metrics in the Prometheus text format, and the shape of /healthz.

Values are read from the database at scrape time, so every web process reports the same.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel


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


def prometheus_text(civic) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EngineCollector(civic))
    return generate_latest(registry), CONTENT_TYPE_LATEST
