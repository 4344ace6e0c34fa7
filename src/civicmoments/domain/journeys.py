"""Journeys: one run of a moment for one person, advanced by pure functions.

``start`` and ``advance`` take a journey and an event and return the new journey
with the commands to carry out. They do no I/O: the dispatcher loads journeys in
bulk, calls them, and writes everything they return in one transaction.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from .clock import iso
from .events import (
    EFFECT_COMPLETED,
    EFFECT_DEAD_LETTERED,
    JOURNEY_CANCEL_REQUESTED,
    TIMER_FIRED,
    LifeEvent,
)
from .moments import EFFECT_KINDS, RESULT_KINDS, Moment, OnFailure, OnTimeout, Step, StepKind


class JourneyStatus(str, enum.Enum):
    ACTIVE = "active"
    COMPLETED = "completed"  # the objective was reached (or, without one, every step ended)
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"  # the objective was not reached in time


JOURNEY_TERMINAL = frozenset(JourneyStatus) - {JourneyStatus.ACTIVE}


class StepStatus(str, enum.Enum):
    PENDING = "pending"
    WAITING = "waiting"
    DONE = "done"
    SKIPPED = "skipped"
    TIMED_OUT = "timed-out"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Enum lookups by value and ``.value`` go through the enum machinery; these run for every step of
# every journey loaded or stored, so they are read from plain dicts.
_STEP_BY_VALUE = {s.value: s for s in StepStatus}
_STEP_VALUE = {s: s.value for s in StepStatus}
_JOURNEY_BY_VALUE = {s.value: s for s in JourneyStatus}

STEP_SETTLED = frozenset({StepStatus.DONE, StepStatus.SKIPPED, StepStatus.TIMED_OUT})
STEP_TERMINAL = STEP_SETTLED | {StepStatus.FAILED, StepStatus.CANCELLED}
OBJECTIVE_TIMER = "objective"


@dataclass
class StepRun:
    status: StepStatus = StepStatus.PENDING
    started_at: str | None = None
    finished_at: str | None = None
    result: Any = None
    timer: str | None = None
    effect: str | None = None


@dataclass
class Journey:
    id: str
    moment: str
    person: str
    status: JourneyStatus
    started_at: datetime
    updated_at: datetime
    trigger: dict[str, Any]
    steps: dict[str, StepRun]
    version: int = 0
    objective_timer: str | None = None
    awaiting_objective: bool = False
    outcome: dict[str, Any] | None = None
    moment_version: str | None = None  # the moment file's declared version, when the journey started
    moment_digest: str | None = None  # and the SHA-256 of its bytes

    def state(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "steps": {
                k: {**v.__dict__, "status": _STEP_VALUE[v.status]} for k, v in self.steps.items()
            },
            "objective_timer": self.objective_timer,
            "awaiting_objective": self.awaiting_objective,
            "outcome": self.outcome,
            "moment_version": self.moment_version,
            "moment_digest": self.moment_digest,
        }

    @classmethod
    def from_state(
        cls,
        *,
        id: str,
        moment: str,
        person: str,
        status: str,
        version: int,
        started_at: datetime,
        updated_at: datetime,
        state: dict[str, Any],
    ) -> Journey:
        steps = {k: _step_run(v) for k, v in state["steps"].items()}
        return cls(
            id=id,
            moment=moment,
            person=person,
            status=_JOURNEY_BY_VALUE.get(status) or JourneyStatus(status),
            version=version,
            started_at=started_at,
            updated_at=updated_at,
            trigger=state["trigger"],
            steps=steps,
            objective_timer=state.get("objective_timer"),
            awaiting_objective=state.get("awaiting_objective", False),
            outcome=state.get("outcome"),
            moment_version=state.get("moment_version"),
            moment_digest=state.get("moment_digest"),
        )

    def results(self) -> dict[str, Any]:
        return {k: v.result for k, v in self.steps.items() if v.result is not None}


_STEP_FIELDS = frozenset(f.name for f in dataclasses.fields(StepRun))
_STEP_DEFAULTS = StepRun().__dict__


def _step_run(stored: dict[str, Any]) -> StepRun:
    """A step run from its stored form, without the dataclass constructor's keyword handling: this
    runs for every step of every journey loaded. A stored key it does not know raises, as the
    constructor would."""
    if not stored.keys() <= _STEP_FIELDS:
        return StepRun(**{**stored, "status": StepStatus(stored["status"])})
    run = object.__new__(StepRun)
    run.__dict__.update(_STEP_DEFAULTS)
    run.__dict__.update(stored)
    run.status = _STEP_BY_VALUE.get(stored["status"]) or StepStatus(stored["status"])
    return run


@dataclass(frozen=True)
class PerformEffect:
    """Command: carry out a step's effect, at most once per idempotency key."""

    key: str
    journey: str
    person: str
    step: str
    kind: str
    payload: dict[str, Any]
    max_attempts: int
    backoff_seconds: float


@dataclass(frozen=True)
class StartTimer:
    id: str
    journey: str
    person: str
    step: str
    due_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    journey: str
    at: datetime
    kind: str
    step: str | None
    detail: dict[str, Any]


@dataclass
class Outcome:
    """What one call of ``start`` or ``advance`` produced."""

    journey: Journey
    effects: list[PerformEffect] = field(default_factory=list)
    timers: list[StartTimer] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    halted: bool = False  # the journey stopped short: cancel its pending effects and timers

    @property
    def changed(self) -> bool:
        return bool(self.timeline)


def start(moment: Moment, journey_id: str, event: LifeEvent, now: datetime) -> Outcome | None:
    """Start a journey if the event triggers the moment; None if its condition is false."""
    trigger = event.as_context()
    if moment.trigger.when is not None and not moment.trigger.when({"event": trigger}):
        return None
    journey = Journey(
        id=journey_id,
        moment=moment.id,
        person=event.subject,
        status=JourneyStatus.ACTIVE,
        started_at=now,
        updated_at=now,
        trigger=trigger,
        steps={s.id: StepRun() for s in moment.steps},
        moment_version=moment.version,
        moment_digest=moment.digest,
    )
    run = _Run(moment, journey, now)
    detail: dict[str, Any] = {"event": event.id, "type": event.type}
    if moment.objective and moment.objective.within:
        journey.objective_timer = f"{journey_id}:{OBJECTIVE_TIMER}"
        detail["objective_due"] = iso(run.timer(OBJECTIVE_TIMER, journey.objective_timer,
                                                now + moment.objective.within))
    run.log("started", None, **detail)
    run.progress()
    return run.outcome


def advance(moment: Moment, journey: Journey, event: LifeEvent, now: datetime) -> Outcome:
    """Apply one event to one journey."""
    run = _Run(moment, _copy(journey), now)
    if journey.status is JourneyStatus.ACTIVE:
        run.handle(event)
        if run.journey.status is JourneyStatus.ACTIVE:
            run.progress()
    if run.outcome.changed:
        run.journey.updated_at = now
    return run.outcome


def _copy(journey: Journey) -> Journey:
    """A copy safe to change: step runs are copied; results and the trigger are never mutated.
    Fields are copied as they are, without ``dataclasses.replace``'s generic keyword handling."""
    new = object.__new__(Journey)
    new.__dict__.update(journey.__dict__)
    new.steps = {k: _copy_run(v) for k, v in journey.steps.items()}
    return new


def _copy_run(run: StepRun) -> StepRun:
    """A shallow copy of a step run (its fields copied as they are), without ``copy.copy``'s
    generic dispatch: this runs for every step of every journey an event reaches."""
    new = object.__new__(StepRun)
    new.__dict__.update(run.__dict__)
    return new


class _Run:
    def __init__(self, moment: Moment, journey: Journey, now: datetime) -> None:
        self.moment = moment
        self.journey = journey
        self.now = now
        self.now_iso = iso(now)
        self.outcome = Outcome(journey)

    # -- bookkeeping -------------------------------------------------------------
    def log(self, what: str, step: str | None, **detail: Any) -> None:
        self.outcome.timeline.append(TimelineEntry(self.journey.id, self.now, what, step, detail))

    def timer(self, step: str, timer_id: str, due: datetime) -> datetime:
        j = self.journey
        self.outcome.timers.append(StartTimer(timer_id, j.id, j.person, step, due))
        return due

    def context(self) -> dict[str, Any]:
        j = self.journey
        return {
            "event": j.trigger,
            "steps": {
                k: {"status": v.status.value, "result": v.result if v.result is not None else {}}
                for k, v in j.steps.items()
            },
            "journey": {"id": j.id, "person": j.person, "moment": j.moment},
        }

    def until(self, step: Step) -> datetime | None:
        """The start (00:00 UTC) of the day a ``wait: {until}`` step names; None when it names none."""
        try:
            value = step.values["until"](self.context())
        except Exception:  # noqa: BLE001 - a missing date means there is nothing to wait for
            return None
        if not value:
            return None
        day = date.fromisoformat(str(value)[:10])
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)

    def personalise(self, step: Step) -> dict[str, Any]:
        """A message's values, worked out from the journey when the step begins. A value that
        cannot be worked out fails the effect, with the reason, rather than the whole batch."""
        ctx, out = self.context(), {}
        for name, value in step.values.items():
            try:
                out[name] = value(ctx)
            except Exception as exc:  # noqa: BLE001 - the evaluator's errors are the pack's, not ours
                return {"error": f"placeholder {name!r}: {exc}"}
        return {"values": out}

    def _ready(self, step: Step) -> bool:
        """Every step it comes after is settled (``settled``), as a plain loop: this runs for
        every pending step on every pass of ``progress``."""
        steps = self.journey.steps
        for dep in step.after:
            status = steps[dep].status
            if status in STEP_SETTLED:
                continue
            if status is StepStatus.FAILED and self.moment.step(dep).on_failure is OnFailure.CONTINUE:
                continue
            return False
        return True

    def settled(self, step: Step) -> bool:
        run = self.journey.steps[step.id]
        return run.status in STEP_SETTLED or (
            run.status is StepStatus.FAILED and step.on_failure is OnFailure.CONTINUE
        )

    # -- events ------------------------------------------------------------------
    def handle(self, event: LifeEvent) -> None:
        j, m = self.journey, self.moment
        if event.type == TIMER_FIRED:
            self.on_timer(event.data.get("timer"), event.data.get("step"))
        elif event.type == EFFECT_COMPLETED:
            self.on_result(event.data.get("step"), event.data.get("key"), event.data.get("result"))
        elif event.type == EFFECT_DEAD_LETTERED:
            self.on_dead_letter(event.data.get("step"), event.data.get("reason", "unknown"))
        elif event.type == JOURNEY_CANCEL_REQUESTED:
            self.end(JourneyStatus.CANCELLED, event.data.get("reason", "cancel requested"))
        else:
            objective = m.objective
            if (objective and event.type == objective.event) or m.cancel_on:
                ctx = {"event": event.as_context(), "journey": {"id": j.id, "person": j.person}}
            if objective and event.type == objective.event:
                if objective.when is None or objective.when(ctx):
                    took = (self.now - j.started_at).total_seconds()  # the moment's measure: time to outcome
                    j.outcome = {"event": event.id, "type": event.type, "at": iso(event.time),
                                 "duration_s": round(took, 3), "duration_days": round(took / 86400, 2)}
                    self.end(JourneyStatus.COMPLETED, f"objective reached: {event.type}")
                    return
            for rule in m.cancel_on:
                if event.type == rule.event and (rule.when is None or rule.when(ctx)):
                    self.end(JourneyStatus.CANCELLED, f"cancelled by {event.type}")
                    return
            for step in m.steps:
                run = j.steps[step.id]
                if step.kind is StepKind.OPEN_CASE and (event.data.get("journey"), event.data.get("step")) \
                        != (j.id, step.id):
                    continue  # a case's outcome returns only to the step that opened the case
                if run.status is StepStatus.WAITING and step.reply == event.type:
                    self.finish(step, StepStatus.DONE, result=event.data, reply=event.id,
                                fields=sorted(event.data))

    def on_timer(self, timer_id: str | None, step_id: str | None) -> None:
        j = self.journey
        if timer_id is not None and timer_id == j.objective_timer:
            self.end(JourneyStatus.EXPIRED, "objective not reached before its deadline")
            return
        if step_id not in j.steps:
            return
        step, run = self.moment.step(step_id), j.steps[step_id]
        if run.status is not StepStatus.WAITING or run.timer != timer_id:
            return  # stale: the step already moved on
        if step.kind is StepKind.WAIT and step.reply is None:
            self.finish(step, StepStatus.DONE)
            return
        self.log("deadline-passed", step.id, on_timeout=step.on_timeout.value)
        if step.on_timeout is OnTimeout.CONTINUE:
            self.finish(step, StepStatus.TIMED_OUT)
        elif step.on_timeout is OnTimeout.FAIL:
            run.status = StepStatus.FAILED
            self.end(JourneyStatus.FAILED, f"step {step.id} passed its deadline")
        else:
            self.end(JourneyStatus.CANCELLED, f"step {step.id} passed its deadline")

    def on_result(self, step_id: str | None, key: str | None, result: Any) -> None:
        if step_id not in self.journey.steps:
            return
        step, run = self.moment.step(step_id), self.journey.steps[step_id]
        if run.status is StepStatus.WAITING and run.effect == key and step.kind in RESULT_KINDS:
            if step.kind is StepKind.OPEN_CASE and step.reply is not None:
                run.result = result  # the case exists; the step goes on waiting for its outcome
                self.log("case-opened", step.id, **(result if isinstance(result, dict) else {}))
                return
            self.finish(step, StepStatus.DONE, result=result)

    def on_dead_letter(self, step_id: str | None, reason: str) -> None:
        if step_id not in self.journey.steps:
            return
        step, run = self.moment.step(step_id), self.journey.steps[step_id]
        self.log("effect-dead-lettered", step.id, reason=reason)
        if run.status in (StepStatus.CANCELLED, StepStatus.FAILED):
            return
        run.status, run.finished_at = StepStatus.FAILED, self.now_iso
        if step.on_failure is OnFailure.FAIL:
            self.end(JourneyStatus.FAILED, f"step {step.id} failed: {reason}")

    # -- progress ----------------------------------------------------------------
    def progress(self) -> None:
        j, moving = self.journey, True
        while moving and j.status is JourneyStatus.ACTIVE:
            moving = False
            for step in self.moment.steps:
                run = j.steps[step.id]
                if run.status is not StepStatus.PENDING or not self._ready(step):
                    continue
                moving = True
                if step.when is not None and not step.when(self.context()):
                    run.status, run.finished_at = StepStatus.SKIPPED, self.now_iso
                    self.log("step-skipped", step.id, condition=step.when_source)
                else:
                    self.begin(step)
        if j.status is JourneyStatus.ACTIVE and all(
            r.status in STEP_TERMINAL for r in j.steps.values()
        ):
            if self.moment.objective is None:
                self.end(JourneyStatus.COMPLETED, "every step ended", halt=False)
            elif not j.awaiting_objective:
                j.awaiting_objective = True
                self.log("awaiting-objective", None, event=self.moment.objective.event)

    def begin(self, step: Step) -> None:
        j = self.journey
        run = j.steps[step.id]
        run.started_at = self.now_iso
        run.status = StepStatus.WAITING if step.waits else StepStatus.DONE
        detail: dict[str, Any] = {"kind": step.kind.value}
        if step.kind is StepKind.ASK:  # what the person is asked, for the once-only measures
            detail["questions"] = len(step.spec.get("person") or ())
        if step.kind in EFFECT_KINDS:
            run.effect = f"{j.id}:{step.id}"
            payload = {"moment": j.moment, "spec": dict(step.spec), "results": j.results()}
            if step.kind in RESULT_KINDS:
                payload["event"] = j.trigger  # a decision's inputs
            if step.values:
                payload["personalisation"] = self.personalise(step)
            self.outcome.effects.append(
                PerformEffect(
                    key=run.effect,
                    journey=j.id,
                    person=j.person,
                    step=step.id,
                    kind=step.kind.value,
                    payload=payload,
                    max_attempts=step.retry.attempts,
                    backoff_seconds=step.retry.backoff.total_seconds(),
                )
            )
            detail["effect"] = run.effect
        if step.kind is StepKind.WAIT and "until" in step.values:  # wait until a day the journey names
            due = self.until(step)
            if due is None or due <= self.now:
                run.status = StepStatus.DONE
                detail["until"] = iso(due) if due else None
            else:
                run.timer = f"{j.id}:{step.id}:deadline"
                detail["due"] = iso(self.timer(step.id, run.timer, due))
                detail["until"] = detail["due"]
        elif step.waits and step.deadline is not None:
            run.timer = f"{j.id}:{step.id}:deadline"
            detail["due"] = iso(self.timer(step.id, run.timer, self.now + step.deadline))
        if run.status is StepStatus.WAITING:
            self.log("step-started", step.id, **detail)
        else:
            run.finished_at = self.now_iso
            self.log("step-done", step.id, **detail)

    def finish(self, step: Step, status: StepStatus, result: Any = None, **detail: Any) -> None:
        run = self.journey.steps[step.id]
        run.status, run.finished_at = status, self.now_iso
        if result is not None:
            run.result = result
            if step.kind is StepKind.DECIDE and isinstance(result, dict):
                detail.update(result.get("outputs", {}))
        self.log("step-" + ("done" if status is StepStatus.DONE else status.value), step.id, **detail)

    def end(self, status: JourneyStatus, reason: str, halt: bool = True) -> None:
        """End the journey. Unless it simply ran its course, its queued work is called off."""
        j = self.journey
        for run in j.steps.values():
            if run.status in (StepStatus.PENDING, StepStatus.WAITING):
                run.status, run.finished_at = StepStatus.CANCELLED, self.now_iso
        j.status = status
        self.outcome.halted = halt
        self.log(status.value, None, reason=reason)


__all__ = [
    "Journey",
    "JourneyStatus",
    "Outcome",
    "PerformEffect",
    "StartTimer",
    "StepRun",
    "StepStatus",
    "TimelineEntry",
    "advance",
    "start",
]
