"""Ports: what the engine needs from the outside, as Protocols. Adapters satisfy them."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..domain.events import LifeEvent
from ..domain.journeys import Journey, PerformEffect, StartTimer, TimelineEntry


class StaleCaseError(Exception):
    """A case changed since it was read (its version moved on)."""


class BatchFailedError(RuntimeError):
    """A batch could not be written; its events are retried one at a time to find the one at fault."""


class StaleJourneyError(RuntimeError):
    """A journey changed under a batch: the batch is rolled back and tried again."""


@dataclass
class BatchResult:
    """Everything one dispatcher batch writes, in one transaction."""

    now: datetime
    processed: list[int] = field(default_factory=list)
    quarantined: list[tuple[int, str]] = field(default_factory=list)
    new_journeys: list[Journey] = field(default_factory=list)
    updated_journeys: list[Journey] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    effects: list[PerformEffect] = field(default_factory=list)
    timers: list[StartTimer] = field(default_factory=list)
    halted: list[str] = field(default_factory=list)  # cancel their pending effects and timers
    deceased: list[str] = field(default_factory=list)  # people who died: cancel every message waiting for them


BatchHandler = Callable[[list[LifeEvent], dict[str, list[Journey]]], BatchResult]


@dataclass(frozen=True)
class Effect(PerformEffect):
    """An outbox row claimed by an effect worker: the command, its row and its attempt number."""

    id: int
    attempts: int


class Verdict(str, enum.Enum):
    DONE = "done"
    RETRY = "retry"  # a passing fault: try again after a backoff
    FAIL = "fail"  # will never work: dead-letter at once


@dataclass(frozen=True)
class EffectResult:
    verdict: Verdict
    result: Any = None
    error: str | None = None

    @classmethod
    def done(cls, result: Any = None) -> EffectResult:
        return cls(Verdict.DONE, result)

    @classmethod
    def retry(cls, error: str) -> EffectResult:
        return cls(Verdict.RETRY, error=error)

    @classmethod
    def fail(cls, error: str) -> EffectResult:
        return cls(Verdict.FAIL, error=error)


class EffectProvider(Protocol):
    """Performs effects. It must honour the idempotency key: the same key twice is one effect."""

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]: ...


@dataclass(frozen=True)
class Settlement:
    effect: Effect
    result: EffectResult
    emits_result: bool  # the journey waits for this effect's result


class Store(Protocol):
    def accept(self, events: Sequence[dict[str, Any]], now: datetime) -> list[str]: ...
    def dispatch(self, limit: int, handler: BatchHandler, fresh: int | None = None) -> int: ...
    def effects_in_hand(self, now: datetime, up_to: int) -> int: ...
    def effects_waiting(self, now: datetime) -> bool: ...
    def fire_due_timers(self, now: datetime, limit: int) -> int: ...
    def claim_effects(self, now: datetime, limit: int, lease_seconds: float) -> list[Effect]: ...
    def settle_effects(self, settlements: Sequence[Settlement], now: datetime) -> None: ...


@dataclass(frozen=True)
class Outgoing:
    """One message for one channel: the rendered text and where to send it."""

    message: str  # the message id, also the reference given to providers
    person: str
    to: Any  # an email address, a phone number in E.164, or a postal address (a dict)
    name: str
    locale: str
    subject: str
    short: str
    long: str
    large_print: bool = False
    written_at: datetime | None = None  # when the text was written (UTC); a letter is dated that day


class ChannelProvider(Protocol):
    """Sends on one channel. Says, for each message, delivered, sending (a receipt will follow),
    or which failure. It must not raise for one bad message."""

    name: str
    channel: Any  # a domain.messages.Channel

    def send(self, batch: Sequence[Outgoing]) -> list[Any]: ...  # domain.messages.Outcome each


class Telemetry(Protocol):
    """Operational counters and timings (the Prometheus adapter serves them at /metrics)."""

    def intake(self, event_type: str, outcome: str, n: int = 1) -> None: ...
    def timed_step(self, event_type: str) -> AbstractContextManager[None]: ...
    def timed_effect(self, kind: str) -> AbstractContextManager[None]: ...


class NoTelemetry:
    """Telemetry that records nothing: the default until bootstrap wires the real one."""

    def intake(self, event_type: str, outcome: str, n: int = 1) -> None:
        pass

    def timed_step(self, event_type: str) -> AbstractContextManager[None]:
        return nullcontext()

    def timed_effect(self, kind: str) -> AbstractContextManager[None]:
        return nullcontext()
