"""Who the acting officer is: the one place the API and the staff console find the current officer.

An officer is identified either by the staff console's session (``request.session["officer"]``,
set at staff sign-in, holding the officer's id) or by a bearer token bound to the officer
(``co_<key id>_<secret>``, from ``civic officers token NAME``).

A request that changes something (POST, PUT, PATCH, DELETE) and is authenticated by the console's
session cookie must also carry the session's CSRF token in the ``X-CSRF-Token`` header: a cookie is
sent by the browser on its own, a bearer token is not, so bearer calls need no CSRF token.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from ..domain.staff import Officer
from ..engine.errors import CredentialInvalidError, CredentialMissingError, CsrfTokenMissingError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def current_officer(request: Request) -> Officer:
    """The officer behind the request. Raises CredentialMissingError / CredentialInvalidError (401),
    CsrfTokenMissingError (403) for a session-authenticated change without the session's CSRF token."""
    civic = request.app.state.civic
    if "session" in request.scope and (officer_id := request.session.get("officer")):
        officer = civic.cases.store.officer(id=officer_id)
        if officer is None:
            raise CredentialInvalidError("the signed-in officer no longer exists; sign in again")
        if request.method not in SAFE_METHODS:
            expected = request.session.get("csrf", "")
            sent = request.headers.get(CSRF_HEADER, "")
            if not expected or not hmac.compare_digest(sent, expected):
                raise CsrfTokenMissingError(f"a change made with the console's session needs the session's "
                                            f"CSRF token in the {CSRF_HEADER} header (the console's forms "
                                            "carry it); API clients use a bearer token instead")
        return officer
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CredentialMissingError("send 'Authorization: Bearer <officer token>'; "
                                     "'civic officers token NAME' issues one")
    return civic.officers.authenticate(token.strip())
