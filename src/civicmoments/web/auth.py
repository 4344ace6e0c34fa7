"""Signing in: an OpenID Connect relying party (Authlib), and, in demo mode only, a demo
identity provider that lists synthetic people.

The demo provider is a small but real OpenID Connect provider: discovery, an
authorisation page, a token endpoint issuing RS256-signed ID tokens, and its key set.
So the relying party signs in through it exactly as it would through a real one.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth
from authlib.jose import JsonWebKey, jwt
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer

DEMO_PATH = "/demo-idp"


def relying_party(settings, *, issuer: str | None = None, client_id: str | None = None,
                  client_secret: str | None = None) -> OAuth:
    """An OpenID Connect client registered as `idp`: the portal's by default; the staff console
    passes its own issuer and client (an unset issuer means the portal's, then the demo provider)."""
    issuer = issuer or settings.oidc_issuer or f"{settings.public_url.rstrip('/')}{DEMO_PATH}"
    oauth = OAuth()
    oauth.register("idp", server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_id=client_id or settings.oidc_client_id,
                   client_secret=client_secret or settings.oidc_client_secret.get_secret_value(),
                   client_kwargs={"scope": "openid", "code_challenge_method": "S256"})
    return oauth


class DemoIdentityProvider:
    """Refuses to exist outside demo mode."""

    def __init__(self, settings, people) -> None:
        if not settings.demo_mode:
            raise RuntimeError("the demo identity provider runs only in demo mode (CIVIC_DEMO_MODE=true)")
        self.settings, self.people = settings, people
        self.issuer = f"{settings.public_url.rstrip('/')}{DEMO_PATH}"
        # Several web processes share one key (CIVIC_DEMO_IDP_KEY, set by `civic serve`), and codes
        # are signed rather than remembered, so any process can redeem a code another issued.
        shared = os.environ.get("CIVIC_DEMO_IDP_KEY")
        self.key = (JsonWebKey.import_key(json.loads(shared)) if shared
                    else JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "demo-1"}))
        secret = settings.session_secret.get_secret_value() if settings.session_secret else secrets.token_urlsafe(32)
        self.codes = URLSafeTimedSerializer(secret, salt="demo-idp-code")
        self.redeemed: set[str] = set()  # in this process; a code also expires after 2 minutes
        self.clients = {settings.oidc_client_id: people}  # client id -> who it lists (people, or officers)

    def add_client(self, client_id: str, accounts) -> None:
        """Let another relying party (the staff console) sign in through this provider, listing `accounts()`."""
        self.clients[client_id] = accounts

    def router(self) -> APIRouter:
        r = APIRouter(prefix=DEMO_PATH, include_in_schema=False)

        @r.get("/.well-known/openid-configuration")
        def discovery() -> dict:
            return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                    "code_challenge_methods_supported": ["S256"]}

        @r.get("/jwks")
        def jwks() -> dict:
            return {"keys": [self.key.as_dict(is_private=False)]}

        @r.get("/authorize", response_class=HTMLResponse)
        def authorize(request: Request) -> HTMLResponse:
            q = request.query_params
            if q.get("client_id") not in self.clients or not q.get("redirect_uri"):
                raise HTTPException(400, "unknown client or no redirect_uri")
            buttons = "".join(
                f'<li><form method="post" action="{DEMO_PATH}/authorize">'
                + "".join(f'<input type="hidden" name="{k}" value="{_esc(q.get(k, ""))}">'
                          for k in ("redirect_uri", "state", "nonce", "code_challenge", "client_id"))
                + f'<input type="hidden" name="sub" value="{_esc(p["id"])}">'
                + f'<button class="govuk-button govuk-button--secondary" data-module="govuk-button">'
                  f'{_esc(p["name"])}</button></form></li>' for p in self.clients[q["client_id"]]())
            return HTMLResponse(DEMO_PAGE.format(buttons=buttons))

        @r.post("/authorize")
        def choose(redirect_uri: str = Form(...), sub: str = Form(...), state: str = Form(""), nonce: str = Form(""),
                   code_challenge: str = Form(""), client_id: str = Form("")) -> RedirectResponse:
            code = self.codes.dumps({"sub": sub, "nonce": nonce, "redirect_uri": redirect_uri,
                                     "client_id": client_id or self.settings.oidc_client_id})
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=303)

        @r.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            code = str(form.get("code", ""))
            try:
                grant = self.codes.loads(code, max_age=120)
            except BadData:
                grant = None
            if grant is None or code in self.redeemed or form.get("redirect_uri") != grant["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.redeemed.add(code)
            now = int(time.time())
            claims = {"iss": self.issuer, "sub": grant["sub"], "aud": grant["client_id"], "iat": now,
                      "exp": now + 300, "nonce": grant["nonce"]}
            id_token = jwt.encode({"alg": "RS256", "kid": "demo-1"}, claims, self.key).decode()
            return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                                 "expires_in": 300, "id_token": id_token})

        return r


def _esc(value: str) -> str:
    return (value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;"))


DEMO_PAGE = """<!DOCTYPE html>
<html lang="en" class="govuk-template"><head><meta charset="utf-8"><title>Demo sign-in - not a real service</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/govuk-frontend.min.css"></head>
<body class="govuk-template__body"><div class="govuk-width-container"><main class="govuk-main-wrapper" id="main-content">
<div class="govuk-warning-text"><span class="govuk-warning-text__icon" aria-hidden="true">!</span>
<strong class="govuk-warning-text__text"><span class="govuk-visually-hidden">Warning</span>
Demonstration only. This is not a real identity provider, and these people are not real.</strong></div>
<h1 class="govuk-heading-l">Demo sign-in: choose a person</h1>
<ul class="govuk-list">{buttons}</ul></main></div></body></html>"""
