"""Event intake: authenticate, validate (CloudEvents 1.0 and the type's schema), dedupe, accept.

Nothing here knows HTTP: the API and the CLI both hand over parsed events.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..domain.clock import Clock, parse_time
from ..domain.organisations import Organisation
from ..packs.event_types import EventType
from .errors import (
    DuplicateEventIdError,
    EventTypeNotInScopeError,
    MalformedEventError,
    MissingAttributeError,
    Problem,
    SchemaViolationError,
    SourceNotOwnedError,
    UnknownEventTypeError,
)

REQUIRED = ("specversion", "id", "source", "type", "subject")


@dataclass(frozen=True)
class Receipt:
    index: int
    id: str | None
    source: str | None
    status: str  # accepted | duplicate | rejected | held (kept in a verification case)
    problem: Problem | None = None
    case: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "source": self.source,
                               "status": self.status}
        if self.problem is not None:
            out["problem"] = self.problem.as_dict()
        if self.case is not None:
            out["case"] = self.case
        return out


def digest(event: dict[str, Any]) -> str:
    material = {k: event.get(k) for k in ("type", "subject", "time", "data")}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


class Intake:
    def __init__(self, store, event_types: dict[str, EventType], clock: Clock, authority=None) -> None:
        self.store, self.event_types, self.clock = store, event_types, clock
        self.authority = authority  # engine/authority.Authority: may this sender report this person's event?

    def check(self, org: Organisation, raw: Any) -> dict[str, Any]:
        """Validate one event; return the inbox row, or raise the Problem that names what is wrong."""
        if not isinstance(raw, dict):
            raise MalformedEventError("each event must be a JSON object")
        missing = [a for a in REQUIRED if not raw.get(a)]
        if missing:
            raise MissingAttributeError(
                f"missing required attribute{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
                [{"pointer": f"/{a}", "message": "is required"} for a in missing],
            )
        for attr in REQUIRED:
            if not isinstance(raw[attr], str):
                raise MalformedEventError(f"attribute {attr!r} must be a string")
        if raw["specversion"] != "1.0":
            raise MalformedEventError(f"specversion {raw['specversion']!r} is not supported; send 1.0")
        ctype = raw.get("datacontenttype", "application/json")
        if not str(ctype).startswith("application/json") and not str(ctype).endswith("+json"):
            raise MalformedEventError(f"datacontenttype {ctype!r} is not JSON; event data must be JSON")
        event_type = self.event_types.get(raw["type"])
        if event_type is None:
            raise UnknownEventTypeError(
                f"event type {raw['type']!r} is not registered; known types: "
                + ", ".join(sorted(self.event_types))
            )
        if not org.may_send(raw["type"]):
            raise EventTypeNotInScopeError(
                f"organisation {org.name!r} may not send {raw['type']!r}; its scopes are "
                + ", ".join(org.scopes)
            )
        if not org.owns_source(raw["source"]):
            raise SourceNotOwnedError(
                f"source {raw['source']!r} does not belong to organisation {org.name!r}"
            )
        data = raw.get("data", {})
        violations = event_type.violations(data)
        if violations:
            raise SchemaViolationError(
                f"{len(violations)} problem{'s' if len(violations) > 1 else ''} in data: "
                + "; ".join(f"{v.pointer}: {v.message}" for v in violations),
                [{"pointer": v.pointer, "message": v.message} for v in violations],
            )
        if raw.get("time") is not None:
            try:
                when = parse_time(str(raw["time"]))
            except ValueError as exc:
                raise MalformedEventError(f"attribute 'time' is not an RFC 3339 timestamp: {exc}") from None
        else:
            when = self.clock.now()
        return {
            "source": raw["source"],
            "event_id": raw["id"],
            "type": raw["type"],
            "subject": raw["subject"],
            "time": when,
            "data": data,
            "digest": digest(raw),
            "org_id": org.id,
        }

    def submit(self, org: Organisation, raws: list[Any]) -> list[Receipt]:
        receipts: list[Receipt | None] = []
        valid: list[tuple[int, dict[str, Any]]] = []
        for i, raw in enumerate(raws):
            try:
                valid.append((i, self.check(org, raw)))
                receipts.append(None)
            except Problem as problem:
                ident = raw.get("id") if isinstance(raw, dict) else None
                src = raw.get("source") if isinstance(raw, dict) else None
                receipts.append(Receipt(i, ident, src, "rejected", problem))
        if valid and self.authority is not None:
            valid = self._screen(org, valid, receipts)
        if valid:
            outcomes = self.store.accept([row for _, row in valid], self.clock.now())
            for (i, row), outcome in zip(valid, outcomes, strict=True):
                problem = None
                if outcome == "conflict":
                    problem = DuplicateEventIdError(
                        f"source {row['source']!r} already sent event {row['event_id']!r} with "
                        "different content; a new event needs a new id"
                    )
                    outcome = "rejected"
                receipts[i] = Receipt(i, row["event_id"], row["source"], outcome, problem)
        return [r for r in receipts if r is not None]

    def _screen(self, org: Organisation, valid: list[tuple[int, dict[str, Any]]],
                receipts: list[Receipt | None]) -> list[tuple[int, dict[str, Any]]]:
        """Keep the events the sender has authority for; refused and held ones get their receipt."""
        kept = []
        for (i, row), verdict in zip(valid, self.authority.screen(org, [r for _, r in valid]), strict=True):
            if isinstance(verdict, Problem):
                receipts[i] = Receipt(i, row["event_id"], row["source"], "rejected", verdict)
            elif isinstance(verdict, dict):
                kept.append((i, verdict))
            else:
                receipts[i] = Receipt(i, row["event_id"], row["source"], "held", case=verdict.case)
        return kept
