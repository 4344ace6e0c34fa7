"""A pack is a folder: events/ (schemas), moments/ (YAML moments), rules/ (simple rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..domain.cases import Queue
from ..domain.consent import Purpose
from ..domain.events import ENGINE_EVENT_TYPES
from ..domain.moments import Moment, StepKind
from ..domain.people import AttributeSpec
from ..domain.staff import Policy
from ..rules.cel import CelCondition, ConditionSyntaxError
from .cases import load_policy, load_queues
from .event_types import EventType, load_event_types
from .moments import load_moments
from .registry import Check, Form, load_attributes, load_checks, load_forms, load_purposes
from .templates import PackSettings, Template, load_settings, load_templates
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
    settings: PackSettings = field(default_factory=PackSettings)
    templates: dict[str, Template] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    policy: Policy = field(default_factory=lambda: Policy({}, {}, {}))


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
    purposes = load_purposes(root / "registry" / "purposes.yaml")
    queues = load_queues(root / "cases" / "queues.yaml", set(purposes))
    moments = load_moments(root / "moments", known, set(queues) if queues else None)
    attributes = load_attributes(root / "registry" / "domains.yaml")
    settings = load_settings(root / "pack.yaml")
    templates = load_templates(root / "templates", settings)
    _check_notify_steps(moments, templates, purposes)
    return Pack(root, event_types, moments, load_rules(root / "rules" / "simple.yaml"), attributes,
                purposes, load_forms(root / "registry" / "forms.yaml", attributes),
                load_checks(root / "registry" / "checks.yaml", attributes), settings, templates, queues,
                load_policy(root / "staff" / "roles.yaml", queues))


def _check_notify_steps(moments: dict[str, Moment], templates: dict[str, Template],
                        purposes: dict[str, Purpose]) -> None:
    """Every notify step names a template that exists and fills in every placeholder it declares."""
    for t in templates.values():
        if t.purpose is not None and purposes and t.purpose not in purposes:
            raise PackError(t.source_file, None, f"template {t.id!r} names purpose {t.purpose!r}, "
                                                 "which registry/purposes.yaml does not declare")
    if not templates:
        return  # a pack without templates: notify steps go to whatever provider is configured
    for m in moments.values():
        for step in m.steps:
            if step.kind is not StepKind.NOTIFY:
                continue
            t = templates.get(step.spec["template"])
            where = f"moment {m.id!r}, step {step.id!r}"
            if t is None:
                raise PackError(m.source_file, None, f"{where} sends template {step.spec['template']!r}, "
                                                     f"which is not in templates/ ({', '.join(sorted(templates))})")
            missing = sorted(set(t.placeholders) - set(step.spec.get("personalisation") or {}))
            if missing:
                raise PackError(m.source_file, None, f"{where}: template {t.id!r} needs "
                                                     f"{', '.join(missing)} under 'personalisation'")
