"""CEL (Common Expression Language) conditions, compiled once when a moment loads."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

import cel

_PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
_PLAIN = re.compile(rf"^({_PATH})$")
_HAS_ELSE = re.compile(rf"^has\(({_PATH})\)\s*\?\s*({_PATH})\s*:\s*(.+)$")
_STEP = re.compile(r"\bsteps\.([A-Za-z_]\w*)")
_MISSING = object()


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    node: Any = context
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


class ConditionSyntaxError(ValueError):
    """The expression is not valid CEL."""


class ConditionEvaluationError(RuntimeError):
    """The expression failed on this input (a missing field, a wrong type)."""


class CelCondition:
    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._program = cel.compile(source)
        except (ValueError, RuntimeError) as exc:
            first = str(exc).splitlines()[0]
            raise ConditionSyntaxError(f"invalid CEL expression {source!r}: {first}") from exc
        # The CEL runtime converts the whole context on every call; a journey's context holds
        # every step's result. So: pass only the steps an expression names, and read plain
        # paths (``a.b.c``, ``has(a.b) ? a.b : literal``) directly.
        whole = re.search(r"\bsteps\b(?!\s*\.)", source) is not None  # e.g. size(steps): pass them all
        self._steps = None if whole else frozenset(_STEP.findall(source))
        self._fast: tuple[str, Any] | None = None
        plain, has_else = _PLAIN.match(source.strip()), _HAS_ELSE.match(source.strip())
        if plain:
            self._fast = (plain.group(1), _MISSING)
        elif has_else and has_else.group(1) == has_else.group(2):
            try:
                self._fast = (has_else.group(1), json.loads(has_else.group(3)))
            except ValueError:
                pass

    def value(self, context: Mapping[str, Any]) -> Any:
        if self._fast is not None:
            path, default = self._fast
            found = _lookup(context, path)
            if found is not _MISSING:
                return found
            if default is not _MISSING:
                return copy.deepcopy(default)  # a literal such as [] is the caller's own each time
        steps = context.get("steps")
        if isinstance(steps, Mapping) and self._steps is not None:
            context = {**context, "steps": {k: v for k, v in steps.items() if k in self._steps}}
        try:
            return self._program.execute(dict(context))
        except KeyError as exc:
            raise ConditionEvaluationError(
                f"condition {self.source!r} reads {exc.args[0]!r}, which this event does not have"
            ) from exc
        except Exception as exc:  # the CEL runtime raises several kinds
            raise ConditionEvaluationError(f"condition {self.source!r} failed: {exc}") from exc

    def __call__(self, context: Mapping[str, Any]) -> bool:
        result = self.value(context)
        if not isinstance(result, bool):
            raise ConditionEvaluationError(
                f"condition {self.source!r} gave {result!r}, not true or false"
            )
        return result

    def __repr__(self) -> str:
        return f"CelCondition({self.source!r})"
