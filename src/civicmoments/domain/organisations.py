"""Organisations: who may send which events, from which sources."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    sources: tuple[str, ...]  # CloudEvents sources it owns; a trailing * matches a prefix
    scopes: tuple[str, ...]  # event types it may send (glob patterns), or named permissions

    def owns_source(self, source: str) -> bool:
        return any(fnmatchcase(source, pattern) for pattern in self.sources)

    def may_send(self, event_type: str) -> bool:
        return any(fnmatchcase(event_type, pattern) for pattern in self.scopes)

    def may(self, permission: str) -> bool:
        return permission in self.scopes
