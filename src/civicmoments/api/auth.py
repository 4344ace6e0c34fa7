"""Bearer-token authentication of organisations."""

from __future__ import annotations

from fastapi import Request

from ..domain.organisations import Organisation
from ..engine.errors import CredentialMissingError


def organisation(request: Request) -> Organisation:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CredentialMissingError("send 'Authorization: Bearer <token>'; 'civic orgs add' issues tokens")
    return request.app.state.civic.organisations.authenticate(token.strip())
