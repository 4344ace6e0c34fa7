"""Life events as the engine sees them, and the engine's own event types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ENGINE_SOURCE = "civic://engine"

# Everything that changes a journey is an event, including the engine's own results.
TIMER_FIRED = "civic.timer.fired"
EFFECT_COMPLETED = "civic.effect.completed"
EFFECT_DEAD_LETTERED = "civic.effect.dead-lettered"
JOURNEY_CANCEL_REQUESTED = "civic.journey.cancel-requested"
ENGINE_EVENT_TYPES = frozenset(
    {TIMER_FIRED, EFFECT_COMPLETED, EFFECT_DEAD_LETTERED, JOURNEY_CANCEL_REQUESTED}
)


@dataclass(frozen=True)
class LifeEvent:
    """A CloudEvents 1.0 event accepted into the inbox."""

    source: str
    id: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None

    @property
    def journey_id(self) -> str | None:
        """Engine events name the journey they belong to."""
        if self.type in ENGINE_EVENT_TYPES:
            return self.data.get("journey")
        return None

    def as_context(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "source": self.source,
            "id": self.id,
            "subject": self.subject,
            "data": self.data,
        }
