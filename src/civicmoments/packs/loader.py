"""A pack is a folder: events/ (schemas), moments/ (YAML moments), rules/ (simple rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..domain.consent import Purpose
from ..domain.events import ENGINE_EVENT_TYPES
from ..domain.moments import Moment
from ..domain.people import AttributeSpec
from ..rules.cel import CelCondition, ConditionSyntaxError
from .event_types import EventType, load_event_types
from .moments import load_moments
from .registry import Check, Form, load_attributes, load_checks, load_forms, load_purposes
from .yamlmap import PackError, load


@dataclass(frozen=True)
class SimpleRule:
    name: str
    formula: CelCondition
    reference: str


@dataclass
class Pack:
    root: Path
    event_types: dict[str, EventType]
    moments: dict[str, Moment]
    rules: dict[str, SimpleRule] = field(default_factory=dict)
    attributes: dict[str, AttributeSpec] = field(default_factory=dict)
    purposes: dict[str, Purpose] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)


def load_rules(file: Path) -> dict[str, SimpleRule]:
    if not file.exists():
        return {}
    doc = load(file)
    variables = (doc.data or {}).get("variables") if isinstance(doc.data, dict) else None
    if not isinstance(variables, dict):
        raise doc.error((), "a rules file has a 'variables' mapping")
    rules = {}
    for name, spec in variables.items():
        path = ("variables", name)
        if not isinstance(spec, dict) or not isinstance(spec.get("formula"), str):
            raise doc.error(path, f"variable {name!r} needs a 'formula' (a CEL expression)")
        if not spec.get("reference"):
            raise doc.error(path, f"variable {name!r} needs a 'reference' to the rule it encodes")
        try:
            rules[name] = SimpleRule(name, CelCondition(spec["formula"].strip()), str(spec["reference"]).strip())
        except ConditionSyntaxError as exc:
            raise doc.error(path + ("formula",), str(exc)) from None
    return rules


def load_pack(root: Path) -> Pack:
    root = Path(root)
    if not root.is_dir():
        raise PackError(root, None, "no such pack folder")
    event_types = load_event_types(root / "events")
    known = set(event_types) | ENGINE_EVENT_TYPES
    moments = load_moments(root / "moments", known)
    attributes = load_attributes(root / "registry" / "domains.yaml")
    return Pack(root, event_types, moments, load_rules(root / "rules" / "simple.yaml"), attributes,
                load_purposes(root / "registry" / "purposes.yaml"),
                load_forms(root / "registry" / "forms.yaml", attributes),
                load_checks(root / "registry" / "checks.yaml", attributes))
