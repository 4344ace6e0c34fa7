"""Whether the engine runs and how far behind it is: the answer /healthz and /metrics give."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..domain.clock import Clock


def engine_health(health: Any, clock: Clock, supervisor: Any | None, stale_seconds: float) -> dict[str, Any]:
    """The engine's state, from this process's supervisor if it runs one, else from the heartbeats.

    Returns ``{"status": "ok" | "failing", "engine": {"running", "engines", "restarts", "last_error"},
    "events": {"pending", "quarantined", "lag_seconds"}}``. The lag is the age, in seconds, of the oldest
    event still waiting to be processed (0 when none waits). ``failing`` means no engine is running.
    """
    now = clock.now()
    backlog = health.backlog()
    if supervisor is not None:
        mine = supervisor.status()
        engine = {"running": mine["running"], "engines": int(mine["running"]), "restarts": mine["restarts"],
                  "last_error": mine["last_error"]}
    else:
        beats = health.engines(now - timedelta(seconds=stale_seconds))
        alive = [b for b in beats if b["running"] and b.get("role") != "sender"]  # a sender dispatches nothing
        engine = {"running": bool(alive), "engines": len(alive),
                  "restarts": sum(b["restarts"] for b in beats),
                  "last_error": next((b["last_error"] for b in beats if b["last_error"]), None)}
    oldest = backlog["oldest_pending"]
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return {"status": "ok" if engine["running"] else "failing", "engine": engine,
            "events": {"pending": backlog["pending"], "quarantined": backlog["quarantined"],
                       "lag_seconds": round(lag, 3)}}
