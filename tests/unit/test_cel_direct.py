"""Expressions read directly (a conjunction of comparisons of paths with literals, ``conjunction ?
path : literal``, constants) answer exactly as the CEL runtime does, for every condition and
message value the packs hold, on any context: the same value, or an error where the runtime
gives one."""

from __future__ import annotations

import re
from pathlib import Path

import cel
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from civicmoments.rules.cel import _MISSING, CelCondition, ConditionEvaluationError, _direct

ROOT = Path(__file__).resolve().parents[2]
PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
LITERAL = re.compile(r'"([^"\\]*)"')


def _conditions() -> list[str]:
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "when" and isinstance(value, str):
                    found.add(value)
                if key == "personalisation" and isinstance(value, dict):
                    found.update(v for v in value.values() if isinstance(v, str))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((ROOT / "packs").rglob("moments/*.yaml")) + sorted((ROOT / "tests" / "packs").rglob("*.yaml")):
        walk(yaml.safe_load(path.read_text()))
    return sorted(found)


# Beside the packs' own: ordered comparisons, as a rule's formula writes them.
ORDERED = ["event.data.n >= 0", "event.data.n < 3", 'person.name > "b"', 'a.b <= "x" && c.d > -1',
           "steps.award.days >= 14 && steps.award.status == \"done\""]
CONDITIONS = _conditions() + ORDERED
DIRECT = [c for c in CONDITIONS if _direct(c) is not None or CelCondition(c)._choice is not None
          or CelCondition(c)._constant is not _MISSING]


def _runtime(source: str, context: dict):
    """The CEL runtime's own answer, or "error"."""
    try:
        return cel.compile(source).execute(context)
    except Exception:  # noqa: BLE001 - the runtime raises several kinds
        return "error"


def _ours(source: str, context: dict):
    try:
        return CelCondition(source).value(context)
    except ConditionEvaluationError:
        return "error"


def _put(context: dict, path: str, value) -> None:
    node = context
    *parents, last = path.split(".")
    for part in parents:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[last] = value


def test_ordered_comparisons_are_read_directly():
    assert all(_direct(c) is not None for c in ORDERED)
    assert CelCondition("event.data.n >= 0").value({"event": {"data": {"n": 0}}}) is True
    assert CelCondition("event.data.n >= 0").value({"event": {"data": {"n": -1}}}) is False


@pytest.mark.parametrize("source", ["a.b >= 007", "a.b == 05", 'a.b < "x\ty"', "a.b in [01, 2]"])
def test_a_literal_only_cel_reads_is_left_to_the_runtime(source):
    assert _direct(source) is None
    context = {"a": {"b": 4}}
    assert _ours(source, context) == _runtime(source, context)


def test_most_pack_conditions_are_read_directly():
    assert len(DIRECT) >= len(CONDITIONS) // 2, (len(DIRECT), len(CONDITIONS))
    assert 'steps.award.status == "done"' in DIRECT
    assert any(" ? " in c for c in DIRECT) and "14" in DIRECT


@pytest.mark.parametrize("source", DIRECT)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_direct_reading_answers_as_the_runtime_does(source, data):
    literals = LITERAL.findall(source)
    values = st.one_of(
        st.sampled_from(literals or ["x"]), st.text(max_size=3), st.booleans(), st.integers(-2, 2), st.none(),
        st.lists(st.one_of(st.sampled_from(literals or ["x"]), st.integers(0, 1)), max_size=3), st.floats(0, 9),
        st.dictionaries(st.sampled_from(["status", "x"]), st.sampled_from(literals or ["x"]), max_size=2),
    )
    context: dict = {}
    for path in sorted(set(PATH.findall(source))):
        if data.draw(st.booleans(), label=f"has {path}"):
            _put(context, path, data.draw(values, label=path))
    ours, runtime = _ours(source, context), _runtime(source, context)
    if CelCondition(source)._fast is not None and runtime == "error":
        # ``has(a.b) ? a.b : literal`` has always read as its literal where even ``a`` is missing
        # (a step that never ran), and messages rely on it.
        return
    assert ours == runtime
