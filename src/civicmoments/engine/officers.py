"""Officers: staff identities with roles in an organisation, and their API tokens.

An officer is known by the OpenID Connect subject their staff identity provider gives
them. Operators add officers (``civic officers add``); an officer's bearer token
(``co_<key id>_<secret>``, from ``civic officers token``) is stored only as a SHA-256 hash,
like an organisation's.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta

from ..domain.ids import uuid7
from ..domain.staff import Officer, Policy
from .errors import (
    CredentialExpiredError,
    CredentialInvalidError,
    CredentialRevokedError,
    NotFoundError,
    OfficerExistsError,
    UnknownRoleError,
)
from .organisations import _hash

OFFICER_TOKEN_PREFIX = "co"


class Officers:
    def __init__(self, store, policy: Policy, clock) -> None:
        self.store, self.policy, self.clock = store, policy, clock

    def add(self, name: str, subject: str, organisation: str, roles: Sequence[str]) -> Officer:
        """Register an officer. Raises UnknownRoleError, OfficerExistsError."""
        unknown = [r for r in roles if r not in self.policy.roles]
        if unknown or not roles:
            raise UnknownRoleError(f"roles {', '.join(unknown) or '(none given)'} are not declared; the roles are "
                                   f"{', '.join(sorted(self.policy.roles))}")
        if self.store.officer(name=name) or self.store.officer(subject=subject):
            raise OfficerExistsError(f"an officer named {name!r} or with subject {subject!r} already exists")
        officer = Officer(uuid7(), subject, name, organisation, tuple(roles))
        self.store.add_officer(officer, self.clock.now())
        return officer

    def list(self) -> list[Officer]:
        return self.store.officers()

    def get(self, name_or_id: str) -> Officer:
        officer = self.store.officer(name=name_or_id) or self.store.officer(id=name_or_id)
        if officer is None:
            raise NotFoundError(f"no officer named {name_or_id!r}; 'civic officers list' shows them")
        return officer

    def by_subject(self, subject: str) -> Officer | None:
        """The officer a staff sign-in (OpenID Connect subject) belongs to, or None."""
        return self.store.officer(subject=subject)

    def token(self, name_or_id: str, expires_in: timedelta | None = None) -> str:
        """A new bearer token for an officer, shown only this once."""
        officer = self.get(name_or_id)
        now = self.clock.now()
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        self.store.add_officer_token({"id": key_id, "officer_id": officer.id, "secret_hash": _hash(secret),
                                      "created_at": now, "expires_at": now + expires_in if expires_in else None,
                                      "revoked_at": None})
        return f"{OFFICER_TOKEN_PREFIX}_{key_id}_{secret}"

    def authenticate(self, token: str) -> Officer:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != OFFICER_TOKEN_PREFIX:
            raise CredentialInvalidError("the token is not an officer token (co_<id>_<secret>); "
                                         "'civic officers token NAME' issues one")
        found = self.store.officer_token(parts[1])
        if found is None or not hmac.compare_digest(found[0]["secret_hash"], _hash(parts[2])):
            raise CredentialInvalidError("the token is not recognised")
        key, officer = found
        if key["revoked_at"] is not None:
            raise CredentialRevokedError("this token or its officer was revoked; ask for a new one")
        if key["expires_at"] is not None and key["expires_at"] <= self.clock.now():
            raise CredentialExpiredError(f"this token expired at {key['expires_at'].isoformat()}; ask for a new one")
        return officer
