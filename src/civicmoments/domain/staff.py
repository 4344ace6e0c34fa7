"""Officers, roles and the one staff authorisation policy (a declared matrix, pure).

The pack declares each role (``staff/roles.yaml``): what it may do (``see``, ``act``,
``resolve``, ``assign``, ``view-person``), on which queues (``*`` for all), and in which
organisations (``own`` for the officer's own, ``*`` for all, or names). A queue declares
the roles that may act on it. ``Policy.allows`` is the only place a staff action is judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ACTIONS = ("see", "act", "resolve", "assign", "view-person", "insights")
INSIGHTS = "insights"  # sees the insights view and API: aggregates only, never a person
ACTING = frozenset({"act", "resolve", "assign"})


@dataclass(frozen=True)
class Officer:
    id: str
    subject: str  # the OpenID Connect subject at the staff identity provider
    name: str
    organisation: str
    roles: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"id": self.id, "subject": self.subject, "name": self.name, "organisation": self.organisation,
                "roles": list(self.roles)}


@dataclass(frozen=True)
class Role:
    id: str
    title: str  # "a work coach", as the person reads it in "Who saw my data"
    actions: frozenset[str]
    queues: frozenset[str]  # "*" for every queue
    organisations: frozenset[str]  # "own", "*", or organisation names
    sees: str = "all"  # a person's data: "all" for its purpose, or "agreement": only what the gate discloses


@dataclass(frozen=True)
class Policy:
    roles: Mapping[str, Role]
    queue_roles: Mapping[str, tuple[str, ...]]  # queue -> roles that may act on it
    queue_organisation: Mapping[str, str]

    def _grants(self, role: Role, officer: Officer, action: str, queue: str) -> bool:
        if action not in role.actions:
            return False
        if "*" not in role.queues and queue not in role.queues:
            return False
        owner = self.queue_organisation.get(queue)
        if "*" not in role.organisations and not (
            ("own" in role.organisations and owner == officer.organisation) or owner in role.organisations
        ):
            return False
        if action in ACTING and role.id not in self.queue_roles.get(queue, ()):
            return False
        return True

    def allows(self, officer: Officer, action: str, queue: str) -> bool:
        """May this officer do ``action`` on a case in ``queue``? Unknown queues are denied."""
        if queue not in self.queue_organisation:
            return False
        return any(self._grants(self.roles[r], officer, action, queue) for r in officer.roles if r in self.roles)

    def sees_insights(self, officer: Officer) -> bool:
        """May this officer see the insights (aggregate measures of moments)?"""
        return any(INSIGHTS in self.roles[r].actions for r in officer.roles if r in self.roles)

    def visible_queues(self, officer: Officer) -> list[str]:
        return [q for q in self.queue_organisation if self.allows(officer, "see", q)]

    def role_for(self, officer: Officer, action: str, queue: str) -> Role | None:
        """The officer's first role that grants the action: how the person is told who looked."""
        for r in officer.roles:
            role = self.roles.get(r)
            if role is not None and self._grants(role, officer, action, queue):
                return role
        return None
