"""Prometheus instruments for what happens inside a process: intake outcomes, and how long a
step (advancing a journey for one event) and an effect (a provider's batch) take.

The instruments are made once per process, on first use, in the default registry. When
``PROMETHEUS_MULTIPROC_DIR`` is set (several web processes and workers), prometheus-client keeps
their values in files there and ``/metrics`` sums every process's (see api/metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@cache
def instruments() -> tuple[Counter, Histogram, Histogram]:
    intake = Counter("civic_intake_events", "events offered at intake, by type and outcome "
                     "(accepted, duplicate, rejected, held)", ("type", "outcome"))
    step = Histogram("civic_step_latency_seconds", "time to advance journeys for one event, by event type",
                     ("event_type",), buckets=LATENCY_BUCKETS)
    effect = Histogram("civic_effect_latency_seconds", "time a provider takes to perform a batch of effects, by kind",
                       ("kind",), buckets=LATENCY_BUCKETS)
    return intake, step, effect


class _Timed:
    """Observes, on leaving, the seconds since entering: a plain context manager, as this times
    every event the dispatcher handles (a generator-based one costs several times as much)."""

    __slots__ = ("histogram", "start")

    def __init__(self, histogram) -> None:
        self.histogram = histogram

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> bool:
        self.histogram.observe(time.perf_counter() - self.start)
        return False


class PrometheusTelemetry:
    """The engine's Telemetry port, on prometheus-client."""

    def __init__(self) -> None:
        self.intake_counter, self.step, self.effect = instruments()
        self._steps: dict[str, Histogram] = {}  # the step histogram's child per event type

    def intake(self, event_type: str, outcome: str, n: int = 1) -> None:
        self.intake_counter.labels(event_type, outcome).inc(n)

    def timed_step(self, event_type: str) -> _Timed:
        child = self._steps.get(event_type)
        if child is None:
            child = self._steps[event_type] = self.step.labels(event_type)
        return _Timed(child)

    @contextmanager
    def timed_effect(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.effect.labels(kind).observe(time.perf_counter() - start)
