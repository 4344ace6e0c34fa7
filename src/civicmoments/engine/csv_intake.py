"""Employers' CSV files: each row becomes an event, by the mapping its event type declares."""

from __future__ import annotations

import csv
import io
from typing import Any

from ..packs.event_types import EventType
from .errors import CsvMappingError


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if value == "" and kind != "string":
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value) if "." in value else int(value)
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "y", "1"):
            return True
        if lowered in ("false", "no", "n", "0"):
            return False
        raise ValueError(f"{value!r} is not yes/no")
    return value


def rows_to_events(event_type: EventType, text: str, source: str) -> list[dict[str, Any]]:
    """Turn CSV text into CloudEvents; an error names the line and the column."""
    mapping = event_type.csv
    if mapping is None:
        raise CsvMappingError(f"event type {event_type.type!r} declares no CSV mapping")
    reader = csv.DictReader(io.StringIO(text))
    needed = [mapping["id"], mapping["subject"], *mapping.get("data", {}).values()]
    if mapping.get("time"):
        needed.append(mapping["time"])
    missing = [c for c in needed if c not in (reader.fieldnames or [])]
    if missing:
        raise CsvMappingError(f"the CSV has no column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    props = event_type.schema.get("properties", {})
    events, errors = [], []
    for row in reader:
        line = reader.line_num
        data = {}
        for field, column in mapping.get("data", {}).items():
            try:
                value = _coerce(row[column], props.get(field, {}))
            except ValueError as exc:
                errors.append({"pointer": f"/line/{line}/{column}", "message": str(exc)})
                continue
            if value is not None:
                data[field] = value
        event = {"specversion": "1.0", "type": event_type.type, "source": source,
                 "id": row[mapping["id"]], "subject": row[mapping["subject"]], "data": data}
        if mapping.get("time"):
            event["time"] = row[mapping["time"]]
        events.append(event)
    if errors:
        raise CsvMappingError(f"{len(errors)} value(s) could not be read", errors)
    return events
