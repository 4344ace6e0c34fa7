"""Case queues (``cases/queues.yaml``) and staff roles (``staff/roles.yaml``), with file:line errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..domain.cases import Queue
from ..domain.clock import InvalidDurationError, parse_duration
from ..domain.staff import ACTIONS, Policy, Role
from .yamlmap import Located, PackError, load

_ID = re.compile(r"^[a-z][a-z0-9-]*$")
_QUEUE_KEYS = {"title", "organisation", "service_level", "roles", "outcomes", "purpose"}
_ROLE_KEYS = {"title", "actions", "queues", "organisations", "sees"}


def _strings(doc: Located, value: Any, path: tuple, what: str, star: bool = False,
             empty: bool = False) -> list[str]:
    if star and value == "*":
        return ["*"]
    if empty and value == []:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise doc.error(path, f"{what} is a non-empty list of names" + (' or "*"' if star else ""))
    return value


def _mapping(doc: Located, value: Any, path: tuple, allowed: set[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise doc.error(path, f"{what} must be a mapping")
    for key in value:
        if key not in allowed:
            raise doc.error(path + (key,), f"unknown key {key!r} in {what}; allowed: {', '.join(sorted(allowed))}")
    return value


def load_queues(file: Path, purposes: set[str] | None = None) -> dict[str, Queue]:
    if not file.exists():
        return {}
    doc = load(file)
    top = doc.data.get("queues") if isinstance(doc.data, dict) else None
    if not isinstance(top, dict) or not top:
        raise doc.error((), "a queues file has a non-empty 'queues' mapping")
    queues = {}
    for qid, spec in top.items():
        path = ("queues", qid)
        if not isinstance(qid, str) or not _ID.match(qid):
            raise doc.error(path, "a queue id is lower-case letters, digits and hyphens")
        spec = _mapping(doc, spec, path, _QUEUE_KEYS, f"queue {qid!r}")
        for key in ("organisation", "service_level", "roles", "outcomes"):
            if key not in spec:
                raise doc.error(path, f"queue {qid!r} needs '{key}'")
        try:
            level = parse_duration(spec["service_level"] if isinstance(spec["service_level"], str) else "")
        except InvalidDurationError as exc:
            raise doc.error(path + ("service_level",), str(exc)) from None
        purpose = spec.get("purpose", "employment-support")
        if purposes and purpose not in purposes:
            raise doc.error(path + ("purpose",), f"purpose {purpose!r} is not declared in registry/purposes.yaml")
        queues[qid] = Queue(qid, str(spec.get("title") or qid), str(spec["organisation"]), level,
                            tuple(_strings(doc, spec["roles"], path + ("roles",), "'roles'")),
                            tuple(_strings(doc, spec["outcomes"], path + ("outcomes",), "'outcomes'")), purpose)
    return queues


def load_policy(file: Path, queues: dict[str, Queue]) -> Policy:
    """Roles from ``staff/roles.yaml``; every queue's roles must be declared, and every role's queues."""
    roles: dict[str, Role] = {}
    if file.exists():
        doc = load(file)
        top = doc.data.get("roles") if isinstance(doc.data, dict) else None
        if not isinstance(top, dict) or not top:
            raise doc.error((), "a roles file has a non-empty 'roles' mapping")
        for rid, spec in top.items():
            path = ("roles", rid)
            spec = _mapping(doc, spec, path, _ROLE_KEYS, f"role {rid!r}")
            actions = _strings(doc, spec.get("actions"), path + ("actions",), "'actions'")
            for a in actions:
                if a not in ACTIONS:
                    raise doc.error(path + ("actions",), f"action {a!r} is not one of {', '.join(ACTIONS)}")
            qs = _strings(doc, spec.get("queues"), path + ("queues",), "'queues'", star=True,
                          empty=actions == ["insights"])  # a role that sees only insights needs no queue
            for q in qs:
                if q != "*" and q not in queues:
                    raise doc.error(path + ("queues",), f"queue {q!r} is not declared in cases/queues.yaml")
            orgs = _strings(doc, spec.get("organisations", ["own"]), path + ("organisations",), "'organisations'",
                            star=True)
            sees = spec.get("sees", "all")
            if sees not in ("all", "agreement"):
                raise doc.error(path + ("sees",), "'sees' is 'all' or 'agreement'")
            roles[rid] = Role(rid, str(spec.get("title") or rid), frozenset(actions), frozenset(qs), frozenset(orgs),
                              sees)
    for q in queues.values():
        for r in q.roles:
            if r not in roles:
                raise PackError(file, None, f"queue {q.id!r} names role {r!r}, which staff/roles.yaml does not declare")
    return Policy(roles, {q.id: q.roles for q in queues.values()}, {q.id: q.organisation for q in queues.values()})
