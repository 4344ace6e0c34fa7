"""Bounded JSON: what any request may hold, so that no input can crash a parser or a database.

The limits follow what every backend stores: integers within 64 bits (orjson, SQLite), text
without NUL (PostgreSQL text and jsonb refuse U+0000) and without lone surrogates (UTF-8 cannot
encode them), nesting no deeper than ``MAX_DEPTH`` (orjson stops at 255; people's data is flat).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import (
    MalformedJsonError,
    NestingTooDeepError,
    NumberOutOfRangeError,
    UnstorableTextError,
    ValueTooLongError,
)

MAX_DEPTH = 32
MAX_INT = 2**63 - 1
MAX_STRING = 100_000  # characters in one JSON string


def loads(body: bytes | str, name: str | None = None) -> Any:
    """Parse JSON, refusing nesting the parser cannot follow with a problem instead of a crash.

    Raises MalformedJsonError (not JSON; with ``name``, the detail starts ``name:line:column:``) or
    NestingTooDeepError. The values are checked by ``check``.
    """
    try:
        return json.loads(body)
    except RecursionError:
        raise NestingTooDeepError(f"the JSON is nested deeper than the limit of {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        if name:
            raise MalformedJsonError(f"{name}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
        raise MalformedJsonError(f"the body is not valid JSON at line {exc.lineno}, column {exc.colno}: "
                                 f"{exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise MalformedJsonError(f"the body is not valid JSON: it is not UTF-8 text ({exc.reason})") from None


def _text_problem(text: str, where: str, max_length: int) -> None:
    if len(text) > max_length:
        raise ValueTooLongError(f"{where or '/'} is {len(text)} characters long; the limit is {max_length}",
                                [{"pointer": where or "/", "message": f"at most {max_length} characters"}])
    if "\x00" in text:
        raise UnstorableTextError(f"{where or '/'} holds a NUL character (U+0000); remove it",
                                  [{"pointer": where or "/", "message": "holds U+0000"}])
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableTextError(f"{where or '/'} holds a lone surrogate (e.g. \\ud800), which is not text; "
                                  "send valid UTF-16 pairs or the character itself",
                                  [{"pointer": where or "/", "message": "holds a lone surrogate"}]) from None


def check(value: Any, where: str = "", depth: int = 0) -> None:
    """Refuse what no backend stores: deep nesting, integers beyond 64 bits, NUL, lone surrogates, huge text.

    ``where`` is the JSON pointer of ``value``; each problem names it and the limit broken.
    """
    if depth > MAX_DEPTH:
        raise NestingTooDeepError(f"{where} is nested deeper than the limit of {MAX_DEPTH} levels",
                                  [{"pointer": where, "message": f"at most {MAX_DEPTH} levels"}])
    if isinstance(value, str):
        _text_problem(value, where, MAX_STRING)
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise NumberOutOfRangeError(f"{where or '/'} is an integer beyond the limit of ±{MAX_INT} (64 bits)",
                                        [{"pointer": where or "/", "message": "beyond 64 bits"}])
    elif isinstance(value, dict):
        for k, v in value.items():
            _text_problem(k, where, 1_000)
            check(v, f"{where}/{_escape(k)}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check(v, f"{where}/{i}", depth + 1)


def check_length(value: str, where: str, limit: int) -> None:
    """A text attribute that goes in a column of ``limit`` characters."""
    _text_problem(value, where, limit)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
