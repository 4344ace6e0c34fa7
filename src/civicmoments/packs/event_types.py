"""Event types: each registered with a JSON Schema for its ``data``, and an optional CSV mapping."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError

from ..domain.clock import parse_duration
from .yamlmap import Located, PackError, load


def _pattern(validator, pattern: str, instance: Any, schema: dict[str, Any]):
    """``pattern`` as JSON Schema defines it, in ECMA-262 terms: ``\\d`` is 0-9 only, so a code
    written in other digits (``٣٠``) does not pass for one in ASCII digits."""
    if validator.is_type(instance, "string") and not re.search(pattern, instance, re.ASCII):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@dataclass(frozen=True)
class SchemaViolation:
    pointer: str
    message: str


@dataclass
class EventType:
    type: str
    description: str
    schema: dict[str, Any]
    csv: dict[str, Any] | None = None
    horizon: dict[str, timedelta] = field(default_factory=dict)  # date field -> how far ahead it may be
    ends_journeys: bool = False  # the subject died: their journeys end and their pending messages are cancelled
    consumer: str | None = None  # who consumes it outside the moments ("informational: ..." or a named path)
    pseudonym_purpose: str | None = None  # the subject is a pseudonym the sender was given for this purpose
    _validator: Any = field(default=None, repr=False, compare=False)

    def violations(self, data: Any, today: date | None = None) -> list[SchemaViolation]:
        """Schema violations, each with a JSON pointer; with ``today``, also dates past the type's horizon."""
        if self._validator is None:
            self._validator = Validator(self.schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        found = []
        for error in sorted(self._validator.iter_errors(data), key=lambda e: list(e.path)):
            pointer = "/data" + "".join(f"/{p}" for p in error.absolute_path)
            found.append(SchemaViolation(pointer, error.message))
        if today is not None and not found and isinstance(data, dict):
            for name, ahead in self.horizon.items():
                try:
                    day = date.fromisoformat(str(data.get(name)))
                except ValueError:
                    continue
                if day > today + ahead:
                    found.append(SchemaViolation(
                        f"/data/{name}", f"{day.isoformat()} is more than {ahead.days} days ahead; this report may "
                                         f"be sent at most {ahead.days} days before the date (by "
                                         f"{(today + ahead).isoformat()})"))
        return found


def load_event_type(file: Path) -> EventType:
    doc = load(file)
    d = doc.data
    if not isinstance(d, dict):
        raise doc.error((), "an event type file must be a mapping with 'type' and 'data'")
    unknown = set(d) - {"type", "description", "data", "csv", "horizon", "ends_journeys", "consumer", "subject"}
    if unknown:
        raise doc.error((sorted(unknown)[0],), f"unknown key {sorted(unknown)[0]!r}")
    if not isinstance(d.get("type"), str) or "." not in d["type"]:
        raise doc.error(("type",), "'type' must be a reverse-DNS name such as uk.gov.example.thing")
    schema = d.get("data")
    if not isinstance(schema, dict):
        raise doc.error(("data",), "'data' must be a JSON Schema (a mapping)")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise doc.error(("data",) + tuple(exc.path), f"invalid JSON Schema: {exc.message}") from exc
    csv = d.get("csv")
    if csv is not None:
        _check_csv(doc, csv, schema)
    horizon = {}
    for name, text in (d.get("horizon") or {}).items():
        if name not in (schema.get("properties") or {}):
            raise doc.error(("horizon", name), f"{name!r} is not a property of the data")
        try:
            horizon[name] = parse_duration(str(text))
        except ValueError as exc:
            raise doc.error(("horizon", name), str(exc)) from None
    if not isinstance(d.get("ends_journeys", False), bool):
        raise doc.error(("ends_journeys",), "'ends_journeys' is true or false")
    consumer = d.get("consumer")
    if consumer is not None and (not isinstance(consumer, str) or not consumer.strip()):
        raise doc.error(("consumer",), "'consumer' says in words who acts on this event outside the moments")
    subject = d.get("subject")
    if subject is not None and not (isinstance(subject, dict) and set(subject) == {"pseudonym"}
                                    and isinstance(subject["pseudonym"], str)):
        raise doc.error(("subject",), "'subject' is {pseudonym: <purpose>}: the subject is the pseudonym the "
                                      "sender was given for that purpose")
    return EventType(d["type"], d.get("description", ""), schema, csv, horizon, bool(d.get("ends_journeys", False)),
                     consumer, subject["pseudonym"] if subject else None)


def _check_csv(doc: Located, csv: Any, schema: dict[str, Any]) -> None:
    if not isinstance(csv, dict) or not isinstance(csv.get("data", {}), dict):
        raise doc.error(("csv",), "'csv' maps envelope fields and a 'data' mapping to column names")
    for key in ("id", "subject"):
        if not isinstance(csv.get(key), str):
            raise doc.error(("csv",), f"'csv.{key}' must name the column that holds the {key}")
    props = schema.get("properties", {})
    for name in csv.get("data", {}):
        if name not in props:
            raise doc.error(("csv", "data", name), f"{name!r} is not a property of the data schema")


def load_event_types(directory: Path) -> dict[str, EventType]:
    types: dict[str, EventType] = {}
    for file in sorted(directory.glob("*.yaml")):
        et = load_event_type(file)
        if et.type in types:
            raise PackError(file, None, f"event type {et.type!r} is declared twice")
        types[et.type] = et
    return types
