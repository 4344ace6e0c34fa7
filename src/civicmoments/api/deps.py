"""What every router needs: the App behind the request, and a scope check."""

from __future__ import annotations

from fastapi import Request

from ..domain.organisations import Organisation
from ..engine.errors import PermissionDeniedError


def civic(request: Request):
    return request.app.state.civic


def need(org: Organisation, scope: str) -> None:
    if not org.may(scope):
        raise PermissionDeniedError(f"organisation {org.name!r} lacks the {scope!r} scope")
