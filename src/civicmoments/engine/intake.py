"""Event intake: authenticate, validate (CloudEvents 1.0 and the type's schema), dedupe, accept.

Nothing here knows HTTP: the API and the CLI both hand over parsed events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..domain.clock import Clock, InvalidTimestampError, TimestampOutOfRangeError, iso, parse_rfc3339
from ..domain.organisations import Organisation
from ..logs import get
from ..packs.event_types import EventType
from . import bounds
from .errors import (
    DuplicateEventIdError,
    EventTimeOutOfRangeError,
    EventTypeNotInScopeError,
    MalformedEventError,
    MissingAttributeError,
    Problem,
    SchemaViolationError,
    SourceNotOwnedError,
    UnknownEventTypeError,
    UnknownPseudonymError,
    UnstorableEventError,
)
from .ports import NoTelemetry, Telemetry

log = get("civic.intake")

REQUIRED = ("specversion", "id", "source", "type", "subject")
COLUMN_LIMITS = {"id": 500, "source": 500, "type": 300, "subject": 300}  # the inbox's columns
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
MAX_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Receipt:
    index: int
    id: str | None
    source: str | None
    status: str  # accepted | duplicate | rejected | held (kept in a verification case)
    problem: Problem | None = None
    line: int | None = None  # where a CSV row starts in its file
    case: str | None = None
    first: str | None = None  # a duplicate of a registration: the first one's reference

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "source": self.source,
                               "status": self.status}
        if self.line is not None:
            out["line"] = self.line
        if self.problem is not None:
            out["problem"] = self.problem.as_dict()
        if self.case is not None:
            out["case"] = self.case
        if self.first is not None:
            out["first"] = self.first
        return out


def digest(event: dict[str, Any]) -> str:
    material = {k: event.get(k) for k in ("type", "subject", "time", "data")}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def event_data(raw: dict[str, Any]) -> Any:
    """An event's data: ``data``, or ``data_base64`` decoded (CloudEvents JSON event format, 3.1).

    In the JSON format an event carries its data as ``data`` (a JSON value) or as
    ``data_base64`` (the bytes in base64, RFC 4648 section 4), never both. Data sent as
    base64 is decoded and, since event data here is JSON (``datacontenttype``), read as
    UTF-8 JSON text. Raises MalformedEventError saying which rule was broken.
    """
    if "data_base64" not in raw:
        return raw.get("data", {})
    if "data" in raw:
        raise MalformedEventError(
            "the event has both 'data' and 'data_base64'; the CloudEvents JSON format allows one or the "
            "other: send the data once", [{"pointer": "/data_base64", "message": "not allowed with data"}])
    encoded = raw["data_base64"]
    if not isinstance(encoded, str):
        raise MalformedEventError("attribute 'data_base64' must be a string of base64 (RFC 4648)",
                                  [{"pointer": "/data_base64", "message": "must be a string"}])
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedEventError(f"attribute 'data_base64' is not valid base64 (RFC 4648 section 4): {exc}",
                                  [{"pointer": "/data_base64", "message": "is not valid base64"}]) from None
    try:
        return json.loads(decoded.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEventError(
            "attribute 'data_base64' decodes to bytes that are not JSON text in UTF-8, and this event's "
            f"data must be JSON: {exc}", [{"pointer": "/data_base64", "message": "does not decode to JSON"}]
        ) from None


class Intake:
    telemetry: Telemetry = NoTelemetry()  # bootstrap sets the Prometheus one

    def __init__(self, store, event_types: dict[str, EventType], clock: Clock,
                 earliest: datetime = EARLIEST, max_ahead: timedelta = MAX_AHEAD, authority=None) -> None:
        """``earliest`` and ``max_ahead`` bound event times: from ``earliest`` to ``max_ahead`` after now."""
        self.store, self.event_types, self.clock = store, event_types, clock
        self.earliest, self.max_ahead = earliest, max_ahead
        self.authority = authority  # engine/authority.Authority: may this sender report this person's event?
        self.reidentify = None  # (recipient, purpose, pseudonym) -> person id or None: the gate's
        self.lifetime = None  # engine/lifetime.Lifetime: births, deaths and moves the registry takes at once

    def _out_of_range(self, text: str) -> Problem:
        latest = self.clock.now() + self.max_ahead
        return EventTimeOutOfRangeError(
            f"attribute 'time' ({text[:40]}) is outside the accepted window, {iso(self.earliest)} to "
            f"{iso(latest)}; send the time the occurrence happened, in UTC",
            [{"pointer": "/time", "message": f"between {iso(self.earliest)} and {iso(latest)}"}])

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
        bounds.check(raw)  # nesting, 64-bit integers, NUL, lone surrogates, text size: before anything reads it
        for attr, limit in COLUMN_LIMITS.items():
            bounds.check_length(raw[attr], f"/{attr}", limit)
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
        data = event_data(raw)
        violations = event_type.violations(data, self.clock.now().date())
        if violations:
            raise SchemaViolationError(
                f"{len(violations)} problem{'s' if len(violations) > 1 else ''} in data: "
                + "; ".join(f"{v.pointer}: {v.message}" for v in violations),
                [{"pointer": v.pointer, "message": v.message} for v in violations],
            )
        if raw.get("time") is not None:
            try:
                when = parse_rfc3339(raw["time"])
            except TimestampOutOfRangeError:  # a valid time whose UTC instant falls outside the calendar
                raise self._out_of_range(str(raw["time"])) from None
            except InvalidTimestampError as exc:
                raise MalformedEventError(f"attribute 'time': {exc}",
                                          [{"pointer": "/time", "message": str(exc)}]) from None
            if not self.earliest <= when <= self.clock.now() + self.max_ahead:
                raise self._out_of_range(str(raw["time"]))
        else:
            when = self.clock.now()
        subject = raw["subject"]
        if event_type.pseudonym_purpose is not None:  # a partner answering about someone it knows by pseudonym
            person = self.reidentify(org.id, event_type.pseudonym_purpose, subject) if self.reidentify else None
            if person is None:
                raise UnknownPseudonymError(
                    f"the subject is not a pseudonym {org.name!r} was given for "
                    f"{event_type.pseudonym_purpose}; send the subject exactly as it was shared with you",
                    [{"pointer": "/subject", "message": "not a pseudonym given to this organisation"}])
            subject = person
        return {
            "source": raw["source"],
            "event_id": raw["id"],
            "type": raw["type"],
            "subject": subject,
            "time": when,
            "data": data,
            "digest": digest({**raw, "data": data}),
            "org_id": org.id,
        }

    def _accept(self, rows: list[dict[str, Any]]) -> list[str | Problem]:
        """Store the rows; if the database refuses the batch, store them one by one, so one event
        the database cannot take is refused alone and the others are kept. The log names only the
        error's class and the event's position, never its content."""
        try:
            return self.store.accept(rows, self.clock.now())
        except Exception as exc:
            if len(rows) == 1 or not self.store.is_refusal(exc):
                raise
        outcomes: list[str | Problem] = []
        for i, row in enumerate(rows):
            try:
                outcomes.extend(self.store.accept([row], self.clock.now()))
            except Exception as exc:
                if not self.store.is_refusal(exc):
                    raise
                log.warning("event refused by the database", position=i, error=type(exc).__name__)
                outcomes.append(UnstorableEventError(
                    f"the database could not store this event ({type(exc).__name__}); check its text and sizes"))
        return outcomes

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
        if valid and self.lifetime is not None:
            valid = self._lifetime(valid, receipts)
        if valid:
            outcomes = self._accept([row for _, row in valid])
            if self.lifetime is not None:
                self.lifetime.apply(org, [row for (_, row), o in zip(valid, outcomes, strict=True) if o == "accepted"])
            for (i, row), outcome in zip(valid, outcomes, strict=True):
                problem = None
                if isinstance(outcome, Problem):
                    problem, outcome = outcome, "rejected"
                elif outcome == "conflict":
                    problem = DuplicateEventIdError(
                        f"source {row['source']!r} already sent event {row['event_id']!r} with "
                        "different content; a new event needs a new id"
                    )
                    outcome = "rejected"
                receipts[i] = Receipt(i, row["event_id"], row["source"], outcome, problem)
        for raw, r in zip(raws, receipts, strict=True):
            if r is not None:
                kind = raw.get("type") if isinstance(raw, dict) else None
                self.telemetry.intake(kind if kind in self.event_types else "unregistered", r.status)
        return [r for r in receipts if r is not None]

    def _lifetime(self, valid: list[tuple[int, dict[str, Any]]],
                  receipts: list[Receipt | None]) -> list[tuple[int, dict[str, Any]]]:
        """Keep the events the registers allow: a second death is a duplicate, a dead person's move refused."""
        kept = []
        for (i, row), verdict in zip(valid, self.lifetime.screen([r for _, r in valid]), strict=True):
            if isinstance(verdict, Problem):
                receipts[i] = Receipt(i, row["event_id"], row["source"], "rejected", verdict)
            elif isinstance(verdict, dict):
                kept.append((i, verdict))
            else:
                receipts[i] = Receipt(i, row["event_id"], row["source"], "duplicate", first=verdict.reference)
        return kept

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
