"""Signing in and out: an officer proves who they are to the staff identity provider (OpenID
Connect, with PKCE); the subject it vouches for must be an officer in the case core's directory."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..auth import SignInFailed, complete_sign_in, start_sign_in
from . import Console, log

PROBLEMS = {  # why a sign-in failed, as an officer reads it
    "declined": "You chose not to sign in. Start again from the staff console when you are ready.",
    "unavailable": "The identity provider is not answering. Try again in a few minutes.",
}


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff", include_in_schema=False)

    @r.get("")
    def start(request: Request) -> Response:
        if console.officer(request) is not None:
            return RedirectResponse("/staff/queues", status_code=303)
        return console.page(request, "start.html", title="Sign in")

    def failed(request: Request, exc: SignInFailed) -> Response:
        log.info("staff sign-in failed", reason=exc.reason)
        return console.page(request, "error.html", status=exc.status, title="You could not be signed in",
                            message=PROBLEMS.get(exc.reason, "The sign-in did not complete (for example, the page "
                                                 "was refreshed or opened twice). Start again from the staff "
                                                 "console."))

    @r.get("/sign-in")
    async def sign_in(request: Request) -> Response:
        try:
            return await start_sign_in(console.oauth.idp, request, console.redirect_uri)
        except SignInFailed as exc:
            return failed(request, exc)

    @r.get("/auth/callback", name="staff_signed_in")
    async def callback(request: Request) -> Response:
        try:
            claims = await complete_sign_in(console.oauth.idp, request)
        except SignInFailed as exc:
            return failed(request, exc)
        officer = console.officers.by_subject(claims["sub"])
        if officer is None:
            log.info("staff sign-in by someone who is not an officer")
            return console.page(request, "error.html", status=403, title="You are not an officer of this service",
                                message="Your identity is not on the list of officers. Ask your team leader "
                                        "to add you.")
        request.session.clear()
        request.session.update({"officer": officer.id, "csrf": secrets.token_urlsafe(24)})
        log.info("officer signed in", officer=officer.id)
        return RedirectResponse("/staff/queues", status_code=303)

    @r.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await console.form(request)
        request.session.clear()
        return RedirectResponse("/staff", status_code=303)

    return r
