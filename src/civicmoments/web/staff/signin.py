"""Signing in and out: an officer proves who they are to the staff identity provider (OpenID
Connect, with PKCE); the subject it vouches for must be an officer in the case core's directory."""

from __future__ import annotations

import secrets

from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from . import Console, log


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff", include_in_schema=False)

    @r.get("")
    def start(request: Request) -> Response:
        if console.officer(request) is not None:
            return RedirectResponse("/staff/queues", status_code=303)
        return console.page(request, "start.html", title="Sign in")

    @r.get("/sign-in")
    async def sign_in(request: Request) -> Response:
        return await console.oauth.idp.authorize_redirect(request, str(request.url_for("staff_signed_in")))

    @r.get("/auth/callback", name="staff_signed_in")
    async def callback(request: Request) -> Response:
        try:
            token = await console.oauth.idp.authorize_access_token(request)
        except OAuthError as exc:
            log.info("staff sign-in refused by the identity provider", error=exc.error)
            return console.page(request, "error.html", status=400, title="You could not be signed in",
                                message="The sign-in did not complete. Start again from the staff console.")
        officer = console.officers.by_subject(token["userinfo"]["sub"])
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
