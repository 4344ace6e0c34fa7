"""Organisations and their credentials: secrets are stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from ..domain.ids import uuid7
from ..domain.organisations import Organisation
from .errors import (
    CredentialExpiredError,
    CredentialInvalidError,
    CredentialRevokedError,
    NotFoundError,
    OrganisationExistsError,
)

TOKEN_PREFIX = "cm"


def _hash(secret: str) -> str:
    # Secrets are 256 random bits, so a fast hash is enough; there is nothing to guess.
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key(org_id: str, now: datetime, expires_in: timedelta | None) -> tuple[dict, str]:
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = {
        "id": key_id,
        "org_id": org_id,
        "secret_hash": _hash(secret),
        "created_at": now,
        "expires_at": now + expires_in if expires_in else None,
        "revoked_at": None,
    }
    return row, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def organisation_id(organisations: list[dict], slug: str) -> str:
    """The id of the registered organisation a staff queue or officer names by slug ("metro-transit"
    for "Metro Transit"); the slug itself when none is registered under that name."""
    for org in organisations:
        if org["name"].lower().replace(" ", "-") == slug and not org.get("revoked_at"):
            return org["id"]
    return slug


class Organisations:
    def __init__(self, store, clock) -> None:
        self.store, self.clock = store, clock

    def add(self, name: str, sources: list[str], scopes: list[str],
            expires_in: timedelta | None = None) -> tuple[Organisation, str]:
        """Register an organisation; returns it and its bearer token, shown only this once."""
        if self.store.organisation(name) is not None:
            raise OrganisationExistsError(f"an organisation named {name!r} already exists")
        now = self.clock.now()
        org = Organisation(uuid7(), name, tuple(sources), tuple(scopes))
        key, token = _new_key(org.id, now, expires_in)
        row = {"id": org.id, "name": name, "sources": list(sources), "scopes": list(scopes),
               "created_at": now, "revoked_at": None}
        self.store.add_organisation(row, key)
        return org, token

    def new_token(self, name: str, expires_in: timedelta | None = None) -> str:
        row = self._get(name)
        key, token = _new_key(row["id"], self.clock.now(), expires_in)
        self.store.add_key(key)
        return token

    def revoke(self, name: str) -> None:
        self.store.revoke_organisation(self._get(name)["id"], self.clock.now())

    def list(self) -> list[dict]:
        return self.store.organisations()

    def _get(self, name: str) -> dict:
        row = self.store.organisation(name)
        if row is None:
            raise NotFoundError(f"no organisation named {name!r}")
        return row

    def authenticate(self, token: str) -> Organisation:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise CredentialInvalidError("the token is not a civicmoments token (cm_<id>_<secret>)")
        found = self.store.key_with_organisation(parts[1])
        if found is None or not hmac.compare_digest(found[0]["secret_hash"], _hash(parts[2])):
            raise CredentialInvalidError("the token is not recognised")
        key, org = found
        now = self.clock.now()
        if key["revoked_at"] is not None or org["revoked_at"] is not None:
            raise CredentialRevokedError("this token was revoked; ask for a new one")
        expires = key["expires_at"]
        if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=now.tzinfo)) <= now:
            raise CredentialExpiredError(f"this token expired at {expires.isoformat()}; ask for a new one")
        return Organisation(org["id"], org["name"], tuple(org["sources"]), tuple(org["scopes"]))

    def named(self, name: str) -> Organisation:
        """The organisation called ``name``; ``NotFoundError`` naming it when there is none."""
        org = self._get(name)
        return Organisation(org["id"], org["name"], tuple(org["sources"]), tuple(org["scopes"]))
