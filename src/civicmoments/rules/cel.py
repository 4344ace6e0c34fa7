"""CEL (Common Expression Language) conditions, compiled once when a moment loads."""

from __future__ import annotations

import copy
import json
import operator
import re
from collections.abc import Mapping
from typing import Any

import cel

_PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
_PLAIN = re.compile(rf"^({_PATH})$")
_HAS_ELSE = re.compile(rf"^has\(({_PATH})\)\s*\?\s*({_PATH})\s*:\s*(.+)$")
_STEP = re.compile(r"\bsteps\.([A-Za-z_]\w*)")
_MISSING = object()
_FALLBACK = object()  # an atom the direct reading cannot answer exactly: the CEL runtime decides

# The conditions packs write most: comparisons of a path with literals, joined by ``&&``.
_LIT = r'"[^"\\]*"|true|false|-?\d+'
_ATOM = re.compile(
    rf"""has\((?P<has>{_PATH})\)
    | (?P<lhs>{_PATH})\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<rhs>{_LIT})
    | (?P<member>{_PATH})\s+in\s+\[(?P<options>\s*(?:{_LIT})(?:\s*,\s*(?:{_LIT}))*\s*)\]
    | (?P<item>{_LIT})\s+in\s+(?P<collection>{_PATH})
    | (?P<bare>{_PATH})""",
    re.VERBOSE,
)
_AND = re.compile(r"\s*&&\s*")
_ELSE = r'"[^"\\]*"|true|false|-?\d+(?:\.\d+)?|\[\]'
_CHOICE = re.compile(rf"^(?P<cond>[^?]+?)\s*\?\s*(?P<then>{_PATH})\s*:\s*(?P<otherwise>{_ELSE})$", re.DOTALL)
_CONSTANT = re.compile(rf"^(?:{_LIT})$")


def _lookup(context: Mapping[str, Any], path: str | tuple[str, ...]) -> Any:
    node: Any = context
    for part in path.split(".") if isinstance(path, str) else path:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


class ConditionSyntaxError(ValueError):
    """The expression is not valid CEL."""


class ConditionEvaluationError(RuntimeError):
    """The expression failed on this input (a missing field, a wrong type)."""


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _literal(text: str) -> Any:
    return json.loads(text)


def _same_kind(a: Any, b: Any) -> bool:
    """Python and CEL agree on ``==`` between two values of exactly the same simple type."""
    return type(a) is type(b) and type(a) in (str, bool, int)


def _atom(m: re.Match) -> Any:
    """One atom's reader: ``context -> True | False | _FALLBACK``."""
    if m["has"]:
        *up, field = m["has"].split(".")
        parent = tuple(up)

        def has(ctx: Mapping[str, Any]) -> Any:
            node = _lookup(ctx, parent)
            return field in node if isinstance(node, Mapping) else _FALLBACK
        return has
    if m["lhs"] and m["op"] in _ORDER:
        path, want, holds = tuple(m["lhs"].split(".")), _literal(m["rhs"]), _ORDER[m["op"]]

        def order(ctx: Mapping[str, Any]) -> Any:
            # Whole numbers with whole numbers, text with text (by code point): as CEL orders them.
            found = _lookup(ctx, path)
            return holds(found, want) if type(found) is type(want) and type(want) in (int, str) else _FALLBACK
        return order
    if m["lhs"]:
        path, want, equal = tuple(m["lhs"].split(".")), _literal(m["rhs"]), m["op"] == "=="

        def compare(ctx: Mapping[str, Any]) -> Any:
            found = _lookup(ctx, path)
            return (found == want) is equal if _same_kind(found, want) else _FALLBACK
        return compare
    if m["member"]:
        path = tuple(m["member"].split("."))
        options = [_literal(o.strip()) for o in re.findall(_LIT, m["options"])]

        def member(ctx: Mapping[str, Any]) -> Any:
            found = _lookup(ctx, path)
            if not all(_same_kind(found, o) for o in options):
                return _FALLBACK
            return found in options
        return member
    if m["item"]:
        path, want = tuple(m["collection"].split(".")), _literal(m["item"])

        def contains(ctx: Mapping[str, Any]) -> Any:
            found = _lookup(ctx, path)
            if not isinstance(found, list) or not all(_same_kind(x, want) for x in found):
                return _FALLBACK
            return want in found
        return contains
    path = tuple(m["bare"].split("."))

    def bare(ctx: Mapping[str, Any]) -> Any:
        found = _lookup(ctx, path)
        return found if type(found) is bool else _FALLBACK
    return bare


def _conjunction(atoms: list, context: Mapping[str, Any]) -> Any:
    """``True``/``False``, or ``_FALLBACK``. CEL's ``&&`` is false when any side is false, whatever
    the others are (even an error), and true when every side is true."""
    answers = [atom(context) for atom in atoms]
    if False in answers:
        return False
    return _FALLBACK if _FALLBACK in answers else True


def _direct(source: str) -> list | None:
    """The atoms of a conjunction the direct reading handles, or ``None`` (the CEL runtime runs it)."""
    text, atoms, pos = source.strip(), [], 0
    while True:
        m = _ATOM.match(text, pos)
        if m is None:
            return None
        try:
            atoms.append(_atom(m))
        except ValueError:  # a literal CEL reads and JSON does not (007, a tab in quotes): the runtime's
            return None
        if m.end() == len(text):
            return atoms
        joint = _AND.match(text, m.end())
        if joint is None:
            return None
        pos = joint.end()


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
        # A conjunction of comparisons of paths with literals (``steps.a.status == "done" &&
        # has(steps.a.result.x)``) is read directly when every path is there with the literal's
        # own type; anything else (a missing path, another type) goes to the runtime, so the
        # answer, or the error, is always the runtime's.
        self._atoms = None if _PLAIN.match(source.strip()) else _direct(source)
        # ``conjunction ? path : literal``, as message values write, and constants (``14``).
        self._choice: tuple[list, tuple[str, ...], Any] | None = None
        choice = _CHOICE.match(source.strip())
        if choice and (atoms := _direct(choice["cond"])) is not None:
            self._choice = (atoms, tuple(choice["then"].split(".")), json.loads(choice["otherwise"]))
        self._constant = self._program.execute({}) if _CONSTANT.match(source.strip()) else _MISSING
        plain, has_else = _PLAIN.match(source.strip()), _HAS_ELSE.match(source.strip())
        if plain:
            self._fast = (plain.group(1), _MISSING)
        elif has_else and has_else.group(1) == has_else.group(2):
            try:
                self._fast = (has_else.group(1), json.loads(has_else.group(3)))
            except ValueError:
                pass

    def value(self, context: Mapping[str, Any]) -> Any:
        if self._atoms is not None:
            answer = _conjunction(self._atoms, context)
            if answer is not _FALLBACK:
                return answer
        if self._constant is not _MISSING:
            return self._constant
        if self._choice is not None:
            atoms, then, otherwise = self._choice
            answer = _conjunction(atoms, context)
            if answer is False:
                return copy.deepcopy(otherwise)
            if answer is True and (found := _lookup(context, then)) is not _MISSING:
                return found
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
