"""CEL (Common Expression Language) conditions, compiled once when a moment loads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cel


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

    def value(self, context: Mapping[str, Any]) -> Any:
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
