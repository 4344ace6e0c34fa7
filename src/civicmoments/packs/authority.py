"""Who may report what about a person (``registry/authority.yaml``), with file:line errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .yamlmap import PackError, load

OTHERWISE = ("refuse", "verification")


@dataclass(frozen=True)
class Relationship:
    """A link between an organisation and a person, read from the person's facts: the
    organisation is related when a fact of ``attribute`` names it (by name or id)."""

    id: str
    title: str
    attribute: str


@dataclass(frozen=True)
class SenderKind:
    """A kind of organisation with standing of its own (a registrar): it holds ``permission``
    among its scopes, whatever its relationship with the person."""

    id: str
    title: str
    permission: str


@dataclass(frozen=True)
class AuthorityRule:
    event_type: str
    relationship: Relationship | None
    otherwise: str  # refuse | verification
    sender: SenderKind | None = None  # the organisation must be one of these (403 otherwise)


@dataclass(frozen=True)
class AuthorityRules:
    rules: dict[str, AuthorityRule]
    identify_by: tuple[str, ...] = ()


def load_authority(file: Path, event_types: set[str], attributes: set[str]) -> AuthorityRules:
    """Read the rules; every event type, relationship and attribute named must exist."""
    if not file.exists():
        return AuthorityRules({})
    doc = load(file)
    top = doc.data if isinstance(doc.data, dict) else None
    if top is None or not isinstance(top.get("relationships"), dict) or not isinstance(top.get("events"), dict):
        raise doc.error((), "an authority file has 'relationships' and 'events' mappings")
    relationships = {}
    for rid, spec in top["relationships"].items():
        path = ("relationships", rid)
        if not isinstance(spec, dict) or not isinstance(spec.get("attribute"), str):
            raise doc.error(path, f"relationship {rid!r} needs an 'attribute' whose facts name the organisation")
        if attributes and spec["attribute"] not in attributes:
            raise doc.error(path + ("attribute",), f"attribute {spec['attribute']!r} is not in any data domain")
        relationships[rid] = Relationship(rid, str(spec.get("title") or rid), spec["attribute"])
    senders = {}
    for sid, spec in (top.get("senders") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("permission"), str):
            raise doc.error(("senders", sid), f"sender kind {sid!r} needs the 'permission' its organisations hold")
        senders[sid] = SenderKind(sid, str(spec.get("title") or sid), spec["permission"])
    rules = {}
    for etype, spec in top["events"].items():
        path = ("events", etype)
        if etype not in event_types:
            raise doc.error(path, f"event type {etype!r} is not registered in events/")
        if not isinstance(spec, dict) or not (spec.get("relationship") in relationships or spec.get("sender") in senders):
            raise doc.error(path, f"event type {etype!r} needs a 'relationship' (one of "
                                  f"{', '.join(sorted(relationships))}) or a 'sender' (one of {', '.join(sorted(senders))})")
        otherwise = spec.get("otherwise", "refuse")
        if otherwise not in OTHERWISE:
            raise doc.error(path + ("otherwise",), f"'otherwise' is one of {', '.join(OTHERWISE)}")
        rules[etype] = AuthorityRule(etype, relationships.get(spec.get("relationship")), otherwise,
                                     senders.get(spec.get("sender")))
    schemes = top.get("identify_by", [])
    if not isinstance(schemes, list) or not all(isinstance(s, str) for s in schemes):
        raise PackError(file, None, "'identify_by' is a list of identifier schemes")
    return AuthorityRules(rules, tuple(schemes))
