"""Signing in: an OpenID Connect relying party (Authlib), and, in demo mode only, a demo
identity provider that lists synthetic people.

The demo provider is a small but real OpenID Connect provider: discovery, an
authorisation page, a token endpoint issuing RS256-signed ID tokens, and its key set.
So the relying party signs in through it exactly as it would through a real one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from urllib.parse import unquote_plus, urlencode

from authlib.integrations.starlette_client import OAuth
from authlib.jose import JsonWebKey, jwt
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer

from ..engine.errors import SignInConfigurationError  # noqa: F401 - callers import it from here too

DEMO_PATH = "/demo-idp"


DEMO_CLIENT_SECRET = "civic-portal-demo-secret"  # noqa: S105 - the demo provider's portal client, demo mode only
DEMO_STAFF_CLIENT_SECRET = "civic-staff-demo-secret"  # noqa: S105 - its staff console client, demo mode only


def issuer_for(settings) -> str:
    return settings.oidc_issuer or f"{settings.public_url.rstrip('/')}{DEMO_PATH}"


def client_secret(settings) -> str:
    """The portal's client secret; the demo value only in demo mode with the demo provider."""
    if settings.oidc_client_secret is not None:
        return settings.oidc_client_secret.get_secret_value()
    if settings.demo_mode and not settings.oidc_issuer:
        return DEMO_CLIENT_SECRET
    raise SignInConfigurationError("set CIVIC_OIDC_CLIENT_SECRET: outside demo mode there is no default")


def staff_issuer_for(settings) -> str:
    """The staff console's identity provider: its own, else the portal's, else the demo provider."""
    return settings.staff_oidc_issuer or issuer_for(settings)


def staff_client_secret(settings) -> str:
    """The staff console's client secret; the demo value only in demo mode with the demo provider."""
    if settings.staff_oidc_client_secret is not None:
        return settings.staff_oidc_client_secret.get_secret_value()
    if settings.demo_mode and not settings.staff_oidc_issuer and not settings.oidc_issuer:
        return DEMO_STAFF_CLIENT_SECRET
    raise SignInConfigurationError("set CIVIC_STAFF_OIDC_CLIENT_SECRET: outside demo mode there is no default")


def check_sign_in(settings) -> None:
    """Start-up check: outside demo mode a real identity provider and its client secret are set."""
    if settings.demo_mode:
        return
    missing = [name for name, value in (("CIVIC_OIDC_ISSUER", settings.oidc_issuer),
                                        ("CIVIC_OIDC_CLIENT_SECRET", settings.oidc_client_secret)) if not value]
    if missing:
        raise SignInConfigurationError(
            f"the portal has no identity provider: set {' and '.join(missing)} (and CIVIC_OIDC_CLIENT_ID), "
            "or CIVIC_PORTAL=false for the API alone, or CIVIC_DEMO_MODE=true for the demonstration")


def relying_party(issuer: str, client_id: str, secret: str, name: str = "idp") -> OAuth:
    """An OpenID Connect client (authorisation code with PKCE S256) for one registered client;
    the portal and any other signed-in front end each make their own."""
    oauth = OAuth()
    oauth.register(name, server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_id=client_id, client_secret=secret,
                   client_kwargs={"scope": "openid", "code_challenge_method": "S256"})
    return oauth


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in: a replayed or refreshed callback, a state
    that does not match, the person declining, or the provider not answering."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


async def start_sign_in(client, request, redirect_uri: str):
    """The redirect to the provider (state, nonce and PKCE verifier go in the server-side
    session); ``SignInFailed`` when the provider cannot be reached."""
    import httpx

    try:
        return await client.authorize_redirect(request, redirect_uri)
    except (httpx.HTTPError, ValueError, KeyError):
        raise SignInFailed("unavailable", 502) from None


async def complete_sign_in(client, request) -> dict:
    """Finish the authorisation-code flow at the callback; the ID token's claims, or
    ``SignInFailed`` naming why not (never an unhandled error)."""
    import httpx
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.jose.errors import JoseError

    error = request.query_params.get("error")
    if error:
        raise SignInFailed("declined" if error == "access_denied" else "provider_error", 403 if error ==
                           "access_denied" else 400)
    if not request.query_params.get("code") or not request.query_params.get("state"):
        raise SignInFailed("incomplete")
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        raise SignInFailed("replayed" if exc.error in ("mismatching_state", "invalid_grant") else
                           "provider_error") from None
    except JoseError:
        raise SignInFailed("provider_error") from None
    except httpx.HTTPError:
        raise SignInFailed("unavailable", 502) from None
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        raise SignInFailed("provider_error")
    return dict(claims)


class DemoIdentityProvider:
    """Refuses to exist outside demo mode. It knows its clients (``register``), checks each
    request's ``redirect_uri`` against the client's registered one, and requires PKCE (S256)."""

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
        self.clients: dict[str, tuple[str, str]] = {}  # client id: (secret, redirect_uri)
        self.accounts: dict[str, object] = {}  # client id: who it lists (people, or officers for the console)

    def register(self, client_id: str, secret: str, redirect_uri: str, accounts=None) -> None:
        """A relying party that may sign in here; ``accounts()`` lists whom its sign-in page offers
        (``[{"id", "name"}]``; the portal's people by default)."""
        self.clients[client_id] = (secret, redirect_uri)
        self.accounts[client_id] = accounts or self.people

    def _client(self, q) -> tuple[str, str]:
        client = self.clients.get(q.get("client_id", ""))
        if client is None:
            raise HTTPException(400, "unknown client")
        if q.get("redirect_uri") != client[1]:
            raise HTTPException(400, "redirect_uri is not the one registered for this client")
        if not q.get("code_challenge") or q.get("code_challenge_method", "S256") != "S256":
            raise HTTPException(400, "PKCE is required: send code_challenge with code_challenge_method=S256")
        return client

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
            self._client(q)
            listed = self.accounts[q["client_id"]]
            buttons = "".join(
                f'<li><form method="post" action="{DEMO_PATH}/authorize">'
                + "".join(f'<input type="hidden" name="{k}" value="{_esc(q.get(k, ""))}">'
                          for k in ("client_id", "redirect_uri", "state", "nonce", "code_challenge"))
                + f'<input type="hidden" name="sub" value="{_esc(p["id"])}">'
                + f'<button class="govuk-button govuk-button--secondary" data-module="govuk-button">'
                  f'{_esc(p["name"])}</button></form></li>' for p in listed())
            return HTMLResponse(DEMO_PAGE.format(buttons=buttons))

        @r.post("/authorize")
        def choose(redirect_uri: str = Form(...), sub: str = Form(...), state: str = Form(""), nonce: str = Form(""),
                   code_challenge: str = Form(""), client_id: str = Form("")) -> RedirectResponse:
            self._client({"client_id": client_id, "redirect_uri": redirect_uri, "code_challenge": code_challenge})
            code = self.codes.dumps({"sub": sub, "nonce": nonce, "redirect_uri": redirect_uri, "client": client_id,
                                     "challenge": code_challenge})
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=303)

        @r.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            code = str(form.get("code", ""))
            try:
                grant = self.codes.loads(code, max_age=120)
            except BadData:
                grant = None
            client_id, secret = _client_credentials(request, form)
            known = self.clients.get(client_id)
            if known is None or not hmac.compare_digest(known[0], secret):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            verifier = str(form.get("code_verifier", ""))
            if (grant is None or code in self.redeemed or grant.get("client") != client_id
                    or form.get("redirect_uri") != grant["redirect_uri"]
                    or not hmac.compare_digest(_s256(verifier), grant.get("challenge", ""))):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.redeemed.add(code)
            now = int(time.time())
            claims = {"iss": self.issuer, "sub": grant["sub"], "aud": client_id, "iat": now,
                      "exp": now + 300, "nonce": grant["nonce"]}
            id_token = jwt.encode({"alg": "RS256", "kid": "demo-1"}, claims, self.key).decode()
            return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                                 "expires_in": 300, "id_token": id_token})

        return r


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _client_credentials(request: Request, form) -> tuple[str, str]:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return unquote_plus(user), unquote_plus(password)
        except ValueError:
            return "", ""
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


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
