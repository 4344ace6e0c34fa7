"""A pack is a folder: events/ (schemas), moments/ (YAML moments), rules/ (simple rules)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ..domain.cases import Queue
from ..domain.consent import Purpose
from ..domain.events import ENGINE_EVENT_TYPES
from ..domain.moments import Moment, StepKind
from ..domain.people import Assurance, AttributeSpec
from ..domain.staff import Policy
from ..rules.cel import CelCondition, ConditionSyntaxError
from .cases import load_policy, load_queues
from .event_types import EventType, load_event_types
from .moments import load_moments
from .registry import (
    Check,
    Form,
    load_assurance,
    load_attributes,
    load_checks,
    load_forms,
    load_purposes,
    load_retention,
)
from .templates import PackSettings, Template, load_settings, load_templates
from .yamlmap import PackError, load


@dataclass(frozen=True)
class SimpleRule:
    """A CEL formula over the trigger event, or formulas dated from the day each is in force
    (figures that are uprated), with the last day their figures are published for."""

    name: str
    formulas: tuple[tuple[str, CelCondition], ...]  # (in force from, YYYY-MM-DD or ""), oldest first
    reference: str
    published_until: str | None = None

    @property
    def formula(self) -> CelCondition:
        return self.formulas[-1][1]

    def on(self, day: str | None) -> tuple[CelCondition | None, str]:
        """The formula in force on ``day`` (YYYY-MM-DD; None: the latest), or None and why not:
        ``no-rules`` before the first, ``not-published`` after ``published_until``."""
        if day is None:
            return self.formula, ""
        if self.published_until is not None and day > self.published_until:
            return None, "not-published"
        found = [f for start, f in self.formulas if start <= day]
        return (found[-1], "") if found else (None, "no-rules")


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
    assurance: list[Assurance] = field(default_factory=list)
    retention: dict[str, timedelta] = field(default_factory=dict)  # kinds of record no one purpose owns


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
        dated = spec.get("formulas") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not (isinstance(spec.get("formula"), str) or isinstance(dated, dict)):
            raise doc.error(path, f"variable {name!r} needs a 'formula' (a CEL expression), or 'formulas' "
                                  "by the day each is in force")
        if not spec.get("reference"):
            raise doc.error(path, f"variable {name!r} needs a 'reference' to the rule it encodes")
        raw = sorted((str(k), v) for k, v in dated.items()) if isinstance(dated, dict) else [("", spec["formula"])]
        formulas = []
        for start, text in raw:
            where = path + (("formulas", start) if dated else ("formula",))
            if dated and not _is_day(start):
                raise doc.error(where, f"{start!r} is not a day written YYYY-MM-DD")
            try:
                formulas.append((start, CelCondition(str(text).strip())))
            except ConditionSyntaxError as exc:
                raise doc.error(where, str(exc)) from None
        until = spec.get("published_until")
        if until is not None and (not _is_day(str(until)) or str(until) < formulas[-1][0]):
            raise doc.error(path + ("published_until",), f"published_until of {name!r} must be a day written "
                                                         "YYYY-MM-DD, no earlier than its last formula")
        rules[name] = SimpleRule(name, tuple(formulas), str(spec["reference"]).strip(),
                                 str(until) if until is not None else None)
    return rules


def _is_day(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def fingerprint(root: Path) -> tuple:
    """What a pack folder holds, as (relative path, size, modification time in ns) for every file but
    compiled Python: equal fingerprints mean the same files, so what was loaded from them still holds."""
    return tuple(sorted((str(f.relative_to(root)), st.st_size, st.st_mtime_ns)
                        for f in root.rglob("*") if "__pycache__" not in f.parts
                        and f.is_file() and (st := f.stat())))


_LOADED: dict[tuple[str, tuple], Pack] = {}


def load_pack(root: Path) -> Pack:
    """The pack in folder ``root``, checked. Loaded once per process while its files are unchanged
    (``fingerprint``); each caller gets its own copies of the top-level maps, so changing one app's
    moments, say, never changes another's. Raises PackError naming the file and line."""
    root = Path(root)
    if not root.is_dir():
        raise PackError(root, None, "no such pack folder")
    key = (str(root.resolve()), fingerprint(root))
    pack = _LOADED.get(key)
    if pack is None:
        pack = _load_pack(root)
        while len(_LOADED) >= 8:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = pack
    return dataclasses.replace(pack, **{f.name: dict(v) for f in dataclasses.fields(pack)
                                        if isinstance(v := getattr(pack, f.name), dict)})


def _load_pack(root: Path) -> Pack:
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
                load_policy(root / "staff" / "roles.yaml", queues), load_assurance(root / "registry" / "assurance.yaml"),
                load_retention(root / "registry" / "purposes.yaml"))


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
