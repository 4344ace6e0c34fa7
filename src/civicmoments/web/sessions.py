"""Sessions kept on the server (ASGI middleware, in place of Starlette's signed cookie).

The cookie holds a random 256-bit token and nothing else, so it cannot be read, and sign-in
state (the PKCE verifier, state and nonce the relying party keeps in ``request.session``)
never leaves the server. A session lasts ``max_age`` seconds from its start; ending it deletes
it, so a copied cookie stops working at once. The token changes whenever the signed-in person
changes, so a token planted before sign-in is worth nothing after it, and a token that names no
live session (one that has ended) is never used again.

A route may ask for the session to last ``max_age`` seconds more from now (``renew``: the
session-timeout warning's "Stay signed in"); ``ends_at`` says when the current one ends.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_RENEW = "session_renew"
_ENDS = "session_ends_at"


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def renew(request: HTTPConnection) -> None:
    """Ask for the request's session to last the full ``max_age`` again from now, once the response starts."""
    request.scope[_RENEW] = True


def ends_at(request: HTTPConnection) -> datetime | None:
    """When the request's stored session ends (aware, UTC); None when it has none yet."""
    return request.scope.get(_ENDS)


class ServerSessions:
    def __init__(self, app: ASGIApp, store, clock, cookie: str = "civic_session", max_age: int = 8 * 3600,
                 https_only: bool = False) -> None:
        self.app, self.store, self.clock = app, store, clock
        self.cookie, self.max_age, self.https_only = cookie, max_age, https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = HTTPConnection(scope).cookies.get(self.cookie)
        live = self.store.load_expiring(_key(token), self.clock.now()) if token else None
        found, scope[_ENDS] = live if live else (None, None)
        scope["session"] = dict(found or {})
        before = dict(found or {})

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._settle(MutableHeaders(scope=message), scope["session"], before, token, found is not None,
                             bool(scope.get(_RENEW)))
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _settle(self, headers: MutableHeaders, data: dict, before: dict, token: str | None, existed: bool,
                renewing: bool = False) -> None:
        if data == before and not (renewing and existed):
            return
        if existed and (not data or data.get("person") != before.get("person")):
            self.store.end(_key(token))  # signed out, or a new person: the old token ends here
            token = None
        if not data:
            if existed:
                headers.append("set-cookie", self._cookie("", 0))
            return
        if not existed:
            token = None  # a token naming no live session (ended, or never issued) is not used again
        token = token or secrets.token_urlsafe(32)
        now = self.clock.now()
        ends = now + timedelta(seconds=self.max_age)
        if data != before:
            self.store.save(_key(token), data, now, ends)
        if renewing and token and existed:
            self.store.renew(_key(token), now, ends)
        headers.append("set-cookie", self._cookie(token, self.max_age))

    def _cookie(self, value: str, max_age: int) -> str:
        c: SimpleCookie = SimpleCookie()
        c[self.cookie] = value
        c[self.cookie].update({"path": "/", "max-age": str(max_age), "httponly": True, "samesite": "lax"})
        if self.https_only:
            c[self.cookie]["secure"] = True
        return c.output(header="").strip()
