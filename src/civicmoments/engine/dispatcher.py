"""The dispatcher: match moments and advance journeys, a batch of events at a time.

This is where "what happens when an event arrives" lives:
1. an engine event (a timer, an effect's result) goes to the journey it names;
2. any other event goes to every active journey of its subject, and then
3. starts each moment it triggers, unless that moment already runs for the person.

An event whose type ends a life (a death registered: ``ends`` from the pack's
``ends_journeys``) first ends every journey of its subject and cancels every message still
waiting to go to them, in the batch's one transaction; then the moments it triggers start.

An event that fails goes to quarantine with the reason; the rest of the batch goes on.
"""

from __future__ import annotations

from ..domain import journeys as J
from ..domain.clock import Clock
from ..domain.events import ENGINE_EVENT_TYPES, ENGINE_SOURCE, JOURNEY_CANCEL_REQUESTED, LifeEvent
from ..domain.ids import uuid7
from ..domain.journeys import Journey, Outcome
from ..domain.moments import Moment
from .ports import BatchResult, NoTelemetry, Telemetry


class UnknownMomentError(RuntimeError):
    """A stored journey runs a moment that is no longer loaded."""


class Dispatcher:
    telemetry: Telemetry = NoTelemetry()  # bootstrap sets the Prometheus one

    def __init__(self, moments: dict[str, Moment], clock: Clock, ends: frozenset[str] = frozenset()) -> None:
        self.moments, self.clock, self.ends = moments, clock, ends
        self.triggers: dict[str, list[Moment]] = {}
        for m in moments.values():
            self.triggers.setdefault(m.trigger.event, []).append(m)

    def outcomes(self, event: LifeEvent, active: list[Journey], now) -> list[Outcome]:
        """Everything one event does, without changing anything yet."""
        target = event.journey_id
        found = []
        if event.type in self.ends:
            for journey in active:
                moment = self.moments.get(journey.moment)
                if moment is None:
                    raise UnknownMomentError(
                        f"journey {journey.id} runs moment {journey.moment!r}, which is not loaded")
                ending = LifeEvent(ENGINE_SOURCE, f"{event.id}:end:{journey.id}", JOURNEY_CANCEL_REQUESTED,
                                   event.subject, event.time, {"journey": journey.id,
                                                               "reason": f"the person died ({event.type})"}, event.seq)
                found.append(J.advance(moment, journey, ending, now))
            active = []
        for journey in active:
            if target is not None and journey.id != target:
                continue
            moment = self.moments.get(journey.moment)
            if moment is None:
                raise UnknownMomentError(
                    f"journey {journey.id} runs moment {journey.moment!r}, which is not loaded"
                )
            outcome = J.advance(moment, journey, event, now)
            if outcome.changed:
                found.append(outcome)
        if event.type not in ENGINE_EVENT_TYPES:
            running = {j.moment for j in active}
            for moment in self.triggers.get(event.type, ()):
                if moment.id in running:
                    continue  # one journey of a moment per person at a time
                outcome = J.start(moment, uuid7(), event, now)
                if outcome is not None:
                    found.append(outcome)
        return found

    def handle(self, events: list[LifeEvent], active: dict[str, list[Journey]]) -> BatchResult:
        now = self.clock.now()
        result = BatchResult(now)
        current: dict[str, Journey] = {}
        new: set[str] = set()
        for event in events:
            people = active[event.subject]
            try:
                with self.telemetry.timed_step(event.type):
                    outcomes = self.outcomes(event, people, now)
            except Exception as exc:  # noqa: BLE001 - any failure quarantines this one event
                result.quarantined.append((event.seq, f"{type(exc).__name__}: {exc}"))
                continue
            for o in outcomes:
                j = o.journey
                if j.id not in current and not any(p.id == j.id for p in people):
                    new.add(j.id)
                current[j.id] = j
                people[:] = [p for p in people if p.id != j.id]
                if j.status is J.JourneyStatus.ACTIVE:
                    people.append(j)
                if o.halted:
                    result.halted.append(j.id)
                result.timeline.extend(o.timeline)
                result.effects.extend(o.effects)
                result.timers.extend(o.timers)
            if event.type in self.ends:
                result.deceased.append(event.subject)
            result.processed.append(event.seq)
        for jid, j in current.items():
            (result.new_journeys if jid in new else result.updated_journeys).append(j)
        return result
