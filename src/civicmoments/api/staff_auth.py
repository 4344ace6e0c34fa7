"""Who the acting officer is: the one place the API and the staff console find the current officer.

An officer is identified either by the staff console's session (``request.session["officer"]``,
set at staff sign-in, holding the officer's id) or by a bearer token bound to the officer
(``co_<key id>_<secret>``, from ``civic officers token NAME``).
"""

from __future__ import annotations

from fastapi import Request

from ..domain.staff import Officer
from ..engine.errors import CredentialInvalidError, CredentialMissingError


def current_officer(request: Request) -> Officer:
    """The officer behind the request. Raises CredentialMissingError / CredentialInvalidError (401)."""
    civic = request.app.state.civic
    if "session" in request.scope and (officer_id := request.session.get("officer")):
        officer = civic.cases.store.officer(id=officer_id)
        if officer is None:
            raise CredentialInvalidError("the signed-in officer no longer exists; sign in again")
        return officer
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CredentialMissingError("send 'Authorization: Bearer <officer token>'; "
                                     "'civic officers token NAME' issues one")
    return civic.officers.authenticate(token.strip())
