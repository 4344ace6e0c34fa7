"""OpenFisca: the pack's tax-benefit system, situations built from profiles, and Decisions.

A Decision holds the inputs used (each with its source and tier), the outputs and the
period, and an explanation in plain English built from OpenFisca's computation trace,
naming the law. A missing input is never silently defaulted: the decision is "unknown",
and says which attribute to ask for. A decision that goes against the person is marked
adverse and waits for a human.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..domain.people import Fact
from ..packs.yamlmap import PackError, load

for _noisy in ("openfisca_core", "numexpr"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


@dataclass(frozen=True)
class InputSpec:
    variable: str
    attribute: str
    equals: Any = None
    scale: float | None = None
    optional: bool = False  # absence is a real answer (none), not a gap to ask about

    def read(self, value: Any) -> Any:
        if self.equals is not None:
            return value == self.equals
        if self.scale is not None:
            return value * self.scale
        return value


@dataclass
class Decision:
    person: str
    on: str
    status: str  # decided | unknown | pending-review
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    ask: list[dict[str, str]] = field(default_factory=list)
    explanation: str = ""
    references: list[str] = field(default_factory=list)
    adverse: bool = False
    reason: str = ""  # why it is unknown: missing-facts | not-published | no-rules

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, np.datetime64 | date):
        return str(value)[:10]
    return value


def _words(value: Any) -> str:
    value = _plain(value)
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _refs(ref: Any) -> list[str]:
    if not ref:
        return []
    if isinstance(ref, str):
        return [ref]
    out = []
    for r in ref:
        out.append(r["title"] if isinstance(r, dict) else str(r))
    return out


def gap_code(gap: str) -> str:
    return "not-published" if gap == RulesEngine.NOT_PUBLISHED else "no-rules"


_ENGINES: dict[tuple[str, tuple], RulesEngine] = {}


def rules_for(root: Path) -> RulesEngine:
    """The pack's rules engine, built once per process while its ``openfisca/`` files are unchanged
    (building the OpenFisca system takes a second or more). The engine keeps no state between
    calculations, so apps in one process share it. Raises PackError as ``RulesEngine`` does."""
    from ..packs.loader import fingerprint

    folder = Path(root) / "openfisca"
    key = (str(folder.resolve()), fingerprint(folder) if folder.is_dir() else ())
    engine = _ENGINES.get(key)
    if engine is None:
        engine = RulesEngine(root)
        _ENGINES.clear()  # one pack's rules at a time: its module is imported once per process anyway
        _ENGINES[key] = engine
    return engine


class RulesEngine:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        folder = str(self.root / "openfisca")
        if folder not in sys.path:
            sys.path.insert(0, folder)
        from openfisca_core.errors import ParameterParsingError

        try:
            self.tbs = importlib.import_module("uk_rules").build_system()
        except ParameterParsingError as exc:
            raise PackError(self.root / "openfisca", None, " ".join(str(exc).split())) from None
        self.inputs = self._load_inputs(self.root / "openfisca" / "inputs.yaml")
        self.check_parameters()

    def _load_inputs(self, file: Path) -> dict[str, InputSpec]:
        doc = load(file)
        raw = doc.data.get("inputs") if isinstance(doc.data, dict) else None
        if not isinstance(raw, dict):
            raise doc.error((), "an inputs file has an 'inputs' mapping")
        out = {}
        for variable, spec in raw.items():
            if variable not in self.tbs.variables:
                raise doc.error(("inputs", variable), f"{variable!r} is not an OpenFisca variable of this pack")
            out[variable] = InputSpec(variable, spec["attribute"], spec.get("equals"), spec.get("scale"),
                                      bool(spec.get("optional", False)))
        return out

    def check_parameters(self) -> None:
        """Every parameter is dated and referenced, and a declared ``published_until`` (the last day
        for which its figures are published) is a date no earlier than its last value, or the pack
        does not load. Raises PackError naming the file and line."""
        def walk(node, inherited, until):
            referenced = inherited or bool(node.metadata.get("reference"))
            until = node.metadata.get("published_until", until)
            children = getattr(node, "children", None)
            if children is None:
                yield node, referenced, until
                return
            for child in children.values():
                yield from walk(child, referenced, until)

        self.published_until: dict[str, date] = {}
        for p, referenced, until in walk(self.tbs.parameters, False, None):
            if not p.values_list:
                raise self._param_error(p.name, "values", f"parameter {p.name} has no dated value")
            if not (referenced or all(v.metadata.get("reference") for v in p.values_list)):
                raise self._param_error(p.name, "reference", f"parameter {p.name} has no legal reference")
            if until is None:
                continue
            try:
                day = date.fromisoformat(str(until))
            except ValueError:
                raise self._param_error(p.name, "published_until", f"published_until of {p.name} must be a date "
                                        f"written YYYY-MM-DD; got {until!r}") from None
            last = p.values_list[0].instant_str
            if day.isoformat() < last:
                raise self._param_error(p.name, "published_until",
                                        f"published_until {day} of {p.name} is earlier than its last value, "
                                        f"dated {last}; move it to the last day the figures are published for")
            self.published_until[p.name] = day

    def _param_error(self, name: str, key: str, message: str) -> PackError:
        """A PackError at the file and line where parameter ``name`` (and its ``key``) is written."""
        folder = self.root / "openfisca" / "uk_rules" / "parameters"
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            file = folder.joinpath(*parts[:cut]).with_suffix(".yaml")
            if file.exists():
                doc = load(file)
                inner = tuple(parts[cut:])
                for path in (inner + ("metadata", key), inner + (key,), inner):
                    if path in doc.lines:
                        return PackError(file, doc.lines[path], message)
                return PackError(file, None, message)
        return PackError(folder, None, message)

    def due_for_uprating(self, on: date, within_days: int = 90) -> list[dict[str, Any]]:
        """Parameters whose published figures end within ``within_days`` of ``on`` (or already have),
        soonest first: ``[{parameter, description, published_until, days_left}]``."""
        out = []
        for name, until in self.published_until.items():
            left = (until - on).days
            if left <= within_days:
                out.append({"parameter": name, "description": self._param(name).description or name,
                            "published_until": until.isoformat(), "days_left": left})
        return sorted(out, key=lambda e: (e["published_until"], e["parameter"]))

    # -- what the rules can say on a day --------------------------------------------------
    NO_RULES = "no rules in force on that day"
    NOT_PUBLISHED = "the rates for that day are not published yet"

    def rules_gap(self, variables: Sequence[str], on: str) -> str | None:
        """Why nothing can be decided on ``on``: a formula not yet in force, or None."""
        for name in variables:
            formulas = self.tbs.variables[name].formulas
            if formulas and on < next(iter(formulas.keys())):
                return self.NO_RULES
        return None

    def figures_gap(self, nodes) -> str | None:
        """Why the figures read in a computation cannot be trusted: a read before a parameter's
        first value, or after the last day its figures are published for; or None."""
        for n in nodes:
            for p in n.parameters:
                day = str(p.period)[:10]
                param = self._param(p.name)
                if day < param.values_list[-1].instant_str:
                    return self.NO_RULES
                until = self.published_until.get(p.name)
                if until is not None and day > until.isoformat():
                    return self.NOT_PUBLISHED
        return None

    def variable(self, name: str):
        v = self.tbs.variables.get(name)
        if v is None:
            raise KeyError(name)
        return v

    # -- vectorised simulation ------------------------------------------------------------
    def simulate(self, count: int, on: str, inputs: Mapping[str, np.ndarray], trace: bool = False,
                 households: Sequence[str] | None = None, roles: Sequence[str] | None = None):
        """One vectorised simulation of ``count`` people. ``households`` gives each person's
        household id and ``roles`` their role; by default each person lives alone as an adult."""
        from openfisca_core.simulation_builder import SimulationBuilder

        ids = [str(i) for i in range(count)]
        households = list(households) if households is not None else ids
        builder = SimulationBuilder()
        builder.create_entities(self.tbs)
        builder.declare_person_entity("person", ids)
        group = builder.declare_entity("household", list(dict.fromkeys(households)))
        builder.join_with_persons(group, households, list(roles) if roles is not None else ["adult"] * count)
        sim = builder.build(self.tbs)
        sim.trace = trace
        for variable, values in inputs.items():
            period = "ETERNITY" if self.tbs.variables[variable].definition_period == "eternity" else on
            sim.set_input(variable, period, values)
        return sim

    def input_arrays(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
        """Arrays for OpenFisca from columns of input values; None takes the variable's default."""
        out = {}
        for variable, column in columns.items():
            var = self.tbs.variables[variable]
            dtype = "datetime64[D]" if var.value_type is date else None
            out[variable] = np.array([var.default_value if v is None else v for v in column], dtype=dtype)
        return out

    def arrays(self, profiles: Sequence[Mapping[str, Fact]]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Input arrays from profiles, and for each input which people lack it."""
        columns, missing = {}, {}
        for variable, spec in self.inputs.items():
            facts = [prof.get(spec.attribute) for prof in profiles]
            columns[variable] = [spec.read(f.value) if f is not None else None for f in facts]
            missing[variable] = np.array([f is None and not spec.optional for f in facts])
        return self.input_arrays(columns), missing

    def decide(self, persons: Sequence[str], profiles: Sequence[Mapping[str, Fact]], variables: Sequence[str],
               on: str, households: Sequence[str] | None = None,
               roles: Sequence[str] | None = None) -> list[Decision]:
        for name in variables:
            self.variable(name)
        values, missing = self.arrays(profiles)
        gap = self.rules_gap(variables, on)
        nodes: list = []
        if gap is None:
            from openfisca_core.errors import ParameterNotFoundError

            sim = self.simulate(len(persons), on, values, trace=True, households=households, roles=roles)
            try:
                outputs = {v: sim.calculate(v, on) for v in variables}
            except ParameterNotFoundError:
                gap = self.NO_RULES
            else:
                nodes = list(sim.tracer.browse_trace())
                gap = self.figures_gap(nodes)
        if gap is not None:
            return [Decision(person, on, "unknown", explanation=f"Not decided: {gap}.", reason=gap_code(gap))
                    for person in persons]
        used_inputs = [n.name for n in nodes if n.name in self.inputs]
        plan = self._explanation(nodes, variables)
        decisions = []
        for i, person in enumerate(persons):
            ask = [{"attribute": self.inputs[v].attribute,
                    "why": f"{self.tbs.variables[v].label or v} is needed to work out "
                           + ", ".join(self.tbs.variables[o].label or o for o in variables)}
                   for v in dict.fromkeys(used_inputs) if missing[v][i]]
            prof = profiles[i]
            used = [{"variable": v, "attribute": self.inputs[v].attribute,
                     "value": _plain(prof[self.inputs[v].attribute].value),
                     "source": prof[self.inputs[v].attribute].source, "tier": prof[self.inputs[v].attribute].tier.value}
                    for v in dict.fromkeys(used_inputs) if self.inputs[v].attribute in prof]
            if ask:
                decisions.append(Decision(person, on, "unknown", inputs=used, ask=ask,
                                          explanation="Not decided: we need to ask for "
                                          + ", ".join(a["attribute"] for a in ask) + ".",
                                          reason="missing-facts"))
                continue
            out = {v: _plain(outputs[v][self._row(sim, v, i)]) for v in variables}
            adverse = any(self.tbs.variables[v].value_type is bool and out[v] is False for v in variables)
            text, refs = self.explain(nodes, i, variables, sim, plan)
            decisions.append(Decision(person, on, "pending-review" if adverse else "decided", out, used, [],
                                      text, refs, adverse))
        return decisions

    def _row(self, sim, variable: str, person_index: int) -> int:
        """Where a person's value sits: their own row, or their household's."""
        if self.tbs.variables[variable].entity.is_person:
            return person_index
        return int(sim.household.members_entity_id[person_index])

    def _explanation(self, nodes, variables: Sequence[str]) -> tuple[list[tuple], list[str]]:
        """What an explanation says that is the same for everyone in one simulation: each computed
        value in trace order (once per variable and period) as ``(node, asked for, on a person's
        own row, label, figures used)``, and the law cited, in order of first citation."""
        rows, refs, seen = [], [], set()
        for n in nodes:
            key = (n.name, str(n.period))
            if key in seen:
                continue
            seen.add(key)
            var = self.tbs.variables[n.name]
            figures = "; ".join(dict.fromkeys(f"{self._param(p.name).description or p.name} = {_words(p.value)}"
                                              for p in n.parameters))
            rows.append((n, n.name in variables, var.entity.is_person, var.label or n.name, figures))
            for r in _refs(var.reference):
                if r not in refs:
                    refs.append(r)
            for p in n.parameters:
                day = str(p.period)[:10]  # the day the figure was read for (a tax year's start, say)
                param = self._param(p.name)
                in_force = next((v for v in param.values_list if v.instant_str <= day), None)
                cited = self._param_refs(p.name)
                if in_force is not None:
                    cited += _refs(in_force.metadata.get("reference"))  # the source of this figure
                for r in cited:
                    if r not in refs:
                        refs.append(r)
        return rows, refs

    def explain(self, nodes, i: int, variables: Sequence[str], sim=None,
                plan: tuple[list[tuple], list[str]] | None = None) -> tuple[str, list[str]]:
        """Plain English from the trace for person ``i``: each computed value, the figures used, and
        the law. ``plan``: the simulation's ``_explanation``, worked out once for all its people."""
        rows, refs = plan if plan is not None else self._explanation(nodes, variables)
        lines = []
        for n, asked, own_row, label, figures in rows:
            row = i if sim is None or own_row else int(sim.household.members_entity_id[i])
            value = _words(n.value[row]) if len(n.value) > row else "?"
            line = f"{label}: {value}" + (f" (using {figures})" if figures else "")
            lines.append(("" if asked else "- ") + line)
        top = [ln for ln in lines if not ln.startswith("- ")]
        detail = [ln for ln in lines if ln.startswith("- ")]
        text = "; ".join(top) + ".\nBecause:\n" + "\n".join(detail) + "\nLaw: " + "; ".join(refs) + "."
        return text, list(refs)

    def _param_refs(self, name: str) -> list[str]:
        """The references of a parameter and of the nodes above it."""
        node, refs = self.tbs.parameters, []
        for part in name.split("."):
            node = node.children[part]
            refs += _refs(node.metadata.get("reference"))
        return refs

    def _param(self, name: str):
        node = self.tbs.parameters
        for part in name.split("."):
            node = node.children[part]
        return node
