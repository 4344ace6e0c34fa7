"""The registry part of a pack: data domains and attributes, purposes, and forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ..domain import identifiers as identifier_schemes
from ..domain.clock import parse_duration
from ..domain.consent import ConsentModel, Purpose
from ..domain.people import Assurance, AttributeSpec, Basis, Tier
from ..rules.cel import CelCondition, ConditionSyntaxError
from .yamlmap import Located, load

TYPES = {"string", "integer", "number", "boolean", "date", "enum"}


@dataclass(frozen=True)
class Check:
    name: str
    condition: CelCondition
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    needs: tuple[str, ...]


def _section(file: Path, key: str) -> tuple[Located, dict] | None:
    """The file's top-level mapping under ``key``; None when the pack has no such file."""
    if not file.exists():
        return None
    doc = load(file)
    section = doc.data.get(key) if isinstance(doc.data, dict) else None
    if not isinstance(section, dict):
        raise doc.error((), f"a {key} file has a '{key}' mapping")
    return doc, section


def load_attributes(file: Path) -> dict[str, AttributeSpec]:
    if (found := _section(file, "domains")) is None:
        return {}
    doc, domains = found
    out: dict[str, AttributeSpec] = {}
    for domain, attrs in domains.items():
        if not isinstance(attrs, dict):
            raise doc.error(("domains", domain), f"domain {domain!r} maps attribute names to their types")
        for name, spec in attrs.items():
            path = ("domains", domain, name)
            if not isinstance(spec, dict) or spec.get("type") not in TYPES:
                raise doc.error(path, f"attribute {name!r} needs a type: one of {', '.join(sorted(TYPES))}")
            if name in out:
                raise doc.error(path, f"attribute {name!r} is already in domain {out[name].domain!r}")
            if spec["type"] == "enum" and not spec.get("values"):
                raise doc.error(path, f"enum attribute {name!r} needs 'values'")
            scheme = spec.get("scheme")
            if scheme is not None and scheme not in identifier_schemes.SCHEMES:
                raise doc.error(path, f"scheme {scheme!r} has no rules here; known schemes: "
                                + ", ".join(sorted(identifier_schemes.SCHEMES)))
            out[name] = AttributeSpec(name, domain, spec["type"], bool(spec.get("sensitive", False)),
                                      tuple(spec.get("values", ())), spec.get("pattern"),
                                      spec.get("description", ""), scheme, bool(spec.get("newest_wins", False)))
    return out


def load_purposes(file: Path) -> dict[str, Purpose]:
    if (found := _section(file, "purposes")) is None:
        return {}
    doc, raw = found
    out = {}
    for pid, spec in raw.items():
        path = ("purposes", pid)
        if not isinstance(spec, dict):
            raise doc.error(path, f"purpose {pid!r} must be a mapping")
        for key in ("title", "lawful_basis", "model", "notice_version", "retention"):
            if not spec.get(key):
                raise doc.error(path, f"purpose {pid!r} needs '{key}'")
        try:
            retention = parse_duration(str(spec["retention"]))
        except ValueError:
            raise doc.error(path + ("retention",), "retention is an ISO 8601 duration such as P2Y or P90D") from None
        try:
            model = ConsentModel(spec["model"])
        except ValueError:
            raise doc.error(path + ("model",), "model is one of: "
                            + ", ".join(m.value for m in ConsentModel)) from None
        out[pid] = Purpose(pid, spec["title"], spec["lawful_basis"], model, str(spec["notice_version"]),
                           spec.get("notice", ""), retention)
    return out


def load_retention(file: Path) -> dict[str, timedelta]:
    """The ``retention`` section: how long kinds of record are kept that no one purpose owns
    (``superseded_facts``: a fact a newer one has replaced)."""
    if (found := _section(file, "retention")) is None:
        return {}
    doc, raw = found
    out = {}
    for kind, text in raw.items():
        try:
            out[kind] = parse_duration(str(text))
        except ValueError:
            raise doc.error(("retention", kind), "an ISO 8601 duration such as P6Y") from None
    return out


def load_forms(file: Path, attributes: dict[str, AttributeSpec]) -> dict[str, Form]:
    if (found := _section(file, "forms")) is None:
        return {}
    doc, raw = found
    out = {}
    for fid, spec in raw.items():
        needs = spec.get("needs") if isinstance(spec, dict) else None
        if not isinstance(needs, list) or not needs:
            raise doc.error(("forms", fid), f"form {fid!r} lists the attributes it 'needs'")
        for i, name in enumerate(needs):
            if name not in attributes:
                raise doc.error(("forms", fid, "needs", i), f"{name!r} is not a declared attribute")
        out[fid] = Form(fid, spec.get("title", fid), tuple(needs))
    return out


def load_checks(file: Path, attributes: dict[str, AttributeSpec]) -> dict[str, Check]:
    if (found := _section(file, "checks")) is None:
        return {}
    doc, raw = found
    out = {}
    for name, spec in raw.items():
        path = ("checks", name)
        if not isinstance(spec, dict) or not isinstance(spec.get("formula"), str):
            raise doc.error(path, f"check {name!r} needs a 'formula' (CEL over profile)")
        attrs = spec.get("attributes") or []
        for a in attrs:
            if a not in attributes:
                raise doc.error(path + ("attributes",), f"{a!r} is not a declared attribute")
        try:
            out[name] = Check(name, CelCondition(spec["formula"]), tuple(attrs))
        except ConditionSyntaxError as exc:
            raise doc.error(path + ("formula",), str(exc)) from None
    return out


def load_assurance(file: Path) -> list[Assurance]:
    """``registry/assurance.yaml``: the tier of a fact by its source and basis, first match wins."""
    if (found := _section(file, "assurance")) is None:
        return []
    doc, raw = found
    out = []
    for name, spec in raw.items():
        path = ("assurance", name)
        if not isinstance(spec, dict):
            raise doc.error(path, f"assurance rule {name!r} is a mapping with basis and tier")
        try:
            out.append(Assurance(name, Basis(spec.get("basis")), Tier(spec.get("tier")), spec.get("organisation"),
                                 spec.get("event"), str(spec.get("says", ""))))
        except ValueError as exc:
            raise doc.error(path, f"assurance rule {name!r}: {exc} (basis: {', '.join(b.value for b in Basis)}; "
                                  f"tier: gold, silver, bronze)") from None
    return out
