"""Employers' CSV files: each row becomes an event, by the mapping its event type declares.

A file is read row by row, and each row stands or falls on its own: a row with a bad value,
too many fields, or too few to hold its required fields is rejected with its line number and
the reason, and the other rows go through. Only what spoils the whole file (no header, a
column named twice, a mapped column missing) refuses it. Optional trailing fields may be left
off a row, as spreadsheets do.

Values follow the data schema's types: ``integer`` takes ASCII digits with an optional sign
(``45.0`` is 45, as pandas writes an integer column holding a blank; ``45.5`` is refused);
``number`` takes a decimal number, never ``NaN``, ``inf`` or one too large for a double;
``boolean`` takes yes/no, true/false, y/n, 1/0. Digits from other scripts (``٣٠``) are
refused with the reason, so a value never means something other than what it shows.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..domain.organisations import Organisation
from ..packs.event_types import EventType
from .errors import CsvMappingError, CsvValueError, MalformedCsvRowError, Problem
from .intake import Intake, Receipt

_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
TRUE, FALSE = ("true", "yes", "y", "1"), ("false", "no", "n", "0")


@dataclass(frozen=True)
class CsvRow:
    """One data row: the event it became, or the problem that rejected it. ``line`` is where it starts."""

    line: int
    id: str | None
    event: dict[str, Any] | None = None
    problem: Problem | None = None


def _kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def _foreign_digits(value: str) -> str | None:
    found = "".join(ch for ch in value if ch.isdigit() and not ch.isascii())
    if not found:
        return None
    names = sorted({unicodedata.name(ch, "digit").rsplit(" DIGIT", 1)[0].title() for ch in found})
    return f"{value!r} has digits other than 0-9 ({', '.join(names)}); write numbers with the digits 0 to 9"


def coerce(value: str, schema: dict[str, Any]) -> Any:
    """A cell's text as the schema's type; None for an empty cell of a non-text type.

    Raises ValueError with a message that says what was expected.
    """
    kind = _kind(schema)
    text = value.strip()
    if kind in ("integer", "number", "boolean") and text == "":
        return None
    if kind in ("integer", "number"):
        foreign = _foreign_digits(text)
        if foreign:
            raise ValueError(foreign)
    if kind == "integer":
        if not _INTEGER.fullmatch(text):
            if _NUMBER.fullmatch(text):
                raise ValueError(f"{value!r} is not a whole number")
            raise ValueError(f"{value!r} is not a whole number written in digits, such as 45")
        return int(text.split(".")[0])
    if kind == "number":
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"{value!r} is not a number written in digits, such as 45 or 45.5 "
                             "(NaN and infinity are not numbers here)")
        if _INTEGER.fullmatch(text) and "." not in text:
            return int(text)
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is too large a number")
        return number
    if kind == "boolean":
        lowered = text.lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ValueError(f"{value!r} is not yes or no (true/false, y/n, 1/0)")
    return value


def _header(reader: Any, mapping: dict[str, Any]) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise CsvMappingError("the CSV is empty: its first line must name the columns") from None
    except csv.Error as exc:
        raise CsvMappingError(f"the CSV header cannot be read: {exc}") from None
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if names.count(n) > 1 and n})
    if repeated:
        raise CsvMappingError(f"the header names {'a column' if len(repeated) == 1 else 'columns'} twice: "
                              f"{', '.join(repeated)}; each column needs its own name",
                              [{"pointer": "/line/1", "message": f"{n!r} is repeated"} for n in repeated])
    needed = [mapping["id"], mapping["subject"], *mapping.get("data", {}).values()]
    if mapping.get("time"):
        needed.append(mapping["time"])
    missing = [c for c in needed if c not in names]
    if missing:
        raise CsvMappingError(f"the CSV has no column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    return names


def read_rows(event_type: EventType, text: str, source: str) -> list[CsvRow]:
    """Read CSV text into one CsvRow per data row (blank rows are skipped).

    Raises CsvMappingError only for what spoils the whole file: no mapping for the type, no
    header, a column named twice, a mapped column missing.
    """
    mapping = event_type.csv
    if mapping is None:
        raise CsvMappingError(f"event type {event_type.type!r} declares no CSV mapping")
    reader = csv.reader(io.StringIO(text, newline=""))
    names = _header(reader, mapping)
    width = len(names)
    props = event_type.schema.get("properties", {})
    required = set(event_type.schema.get("required", []))
    needed = {mapping["id"], mapping["subject"],
              *(col for field, col in mapping.get("data", {}).items() if field in required)}
    at = {name: i for i, name in enumerate(names)}
    rows: list[CsvRow] = []
    line = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(CsvRow(line, None, problem=MalformedCsvRowError(f"line {line}: the row cannot be read: {exc}",
                                                                        [{"pointer": f"/line/{line}",
                                                                          "message": str(exc)}])))
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not any(f.strip() for f in fields):
            continue
        rows.append(_row(start, fields, width, names, at, needed, mapping, props, event_type.type, source))
    return rows


def _row(line: int, fields: list[str], width: int, names: list[str], at: dict[str, int], needed: set[str],
         mapping: dict[str, Any], props: dict[str, Any], type_name: str, source: str) -> CsvRow:
    def cell(column: str) -> str | None:
        i = at[column]
        return fields[i] if i < len(fields) else None

    ident = cell(mapping["id"])
    if len(fields) > width:
        return CsvRow(line, ident, problem=MalformedCsvRowError(
            f"line {line} has {len(fields)} fields but the header has {width}; "
            "quote a value that holds a comma",
            [{"pointer": f"/line/{line}", "message": f"{len(fields) - width} field(s) more than the header"}]))
    absent = [c for c in names[len(fields):] if c in needed]
    if absent:
        return CsvRow(line, ident, problem=MalformedCsvRowError(
            f"line {line} has {len(fields)} fields but the header has {width}; "
            f"it ends before the required {', '.join(absent)}",
            [{"pointer": f"/line/{line}/{c}", "message": "is required but the row ends before it"}
             for c in absent]))
    data, errors = {}, []
    for field, column in mapping.get("data", {}).items():
        raw = cell(column)
        if raw is None:
            continue  # an optional trailing field left off
        try:
            value = coerce(raw, props.get(field, {}))
        except ValueError as exc:
            errors.append({"pointer": f"/line/{line}/{column}", "message": str(exc)})
            continue
        if value is not None:
            data[field] = value
    if errors:
        return CsvRow(line, ident, problem=CsvValueError(
            f"line {line}: " + "; ".join(f"{e['pointer'].rsplit('/', 1)[1]}: {e['message']}" for e in errors),
            errors))
    event = {"specversion": "1.0", "type": type_name, "source": source, "id": ident,
             "subject": cell(mapping["subject"]), "data": data}
    if mapping.get("time") and (cell(mapping["time"]) or "").strip():
        event["time"] = cell(mapping["time"]).strip()
    return CsvRow(line, ident, event=event)


def submit_rows(intake: Intake, org: Organisation, rows: Sequence[CsvRow], source: str | None = None,
                first_index: int = 0) -> list[Receipt]:
    """Submit the rows that became events; one receipt per row, in order, each with its line."""
    ready = [r.event for r in rows if r.event is not None]
    accepted = iter(intake.submit(org, ready))
    out = []
    for i, row in enumerate(rows, start=first_index):
        if row.event is None:
            out.append(Receipt(i, row.id, source, "rejected", row.problem, line=row.line))
        else:
            out.append(replace(next(accepted), index=i, line=row.line))
    return out
