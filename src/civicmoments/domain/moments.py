"""Moments: declarative definitions of what happens after a life event."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

# A condition is compiled elsewhere (CEL, in rules/); the domain only calls it.
Condition = Callable[[Mapping[str, Any]], bool]


class StepKind(str, enum.Enum):
    DECIDE = "decide"
    RECORD = "record"
    SHARE = "share"
    ASK = "ask"
    NOTIFY = "notify"
    OFFER = "offer"
    GRANT = "grant"
    OPEN_CASE = "open-case"
    WAIT = "wait"


# Kinds that hand work to an effect worker through the outbox.
EFFECT_KINDS = frozenset(StepKind) - {StepKind.WAIT}
# Kinds whose effect returns a result the journey waits for.
# An open-case step's result is the case id; with ``wait: true`` it then waits for the outcome.
RESULT_KINDS = frozenset({StepKind.DECIDE, StepKind.SHARE, StepKind.RECORD, StepKind.OPEN_CASE})
DEFAULT_ASK_REPLY = "civic.person.answered"


class OnTimeout(str, enum.Enum):
    CONTINUE = "continue"  # the step ends as timed out; later steps go on
    FAIL = "fail"  # the journey fails
    CANCEL = "cancel"  # the journey is cancelled


class OnFailure(str, enum.Enum):
    FAIL = "fail"
    CONTINUE = "continue"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff: timedelta = timedelta(seconds=2)


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    spec: Mapping[str, Any]
    after: tuple[str, ...] = ()
    when: Condition | None = None
    when_source: str | None = None
    reply: str | None = None  # the event type this step waits for
    deadline: timedelta | None = None
    on_timeout: OnTimeout = OnTimeout.CONTINUE
    on_failure: OnFailure = OnFailure.FAIL
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    values: Mapping[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)  # a message's

    @property
    def waits(self) -> bool:
        return self.kind is StepKind.WAIT or self.kind in RESULT_KINDS or self.reply is not None


@dataclass(frozen=True)
class Trigger:
    event: str
    when: Condition | None = None
    when_source: str | None = None


@dataclass(frozen=True)
class Objective:
    event: str
    within: timedelta | None = None
    when: Condition | None = None
    when_source: str | None = None


@dataclass(frozen=True)
class CancelRule:
    event: str
    when: Condition | None = None
    when_source: str | None = None


@dataclass(frozen=True)
class Moment:
    id: str
    title: str
    trigger: Trigger
    steps: tuple[Step, ...]
    objective: Objective | None = None
    cancel_on: tuple[CancelRule, ...] = ()
    source_file: str | None = None
    version: str | None = None  # the version the file declares (``version: v2``), for comparing changes
    digest: str | None = None  # SHA-256 of the file's bytes: what exactly ran, declared or not

    @cached_property
    def _by_id(self) -> dict[str, Step]:
        return {step.id: step for step in self.steps}

    def step(self, step_id: str) -> Step:
        return self._by_id[step_id]
