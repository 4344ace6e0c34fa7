"""Security headers on every response, and the API's documentation from the platform's own files.

The Content-Security-Policy allows scripts only from the platform itself plus, per response, a
random nonce for the one inline script GOV.UK Frontend's page template needs (``cspNonce``);
pages cannot be framed (``frame-ancestors 'none'``), so one-click forms cannot be clickjacked.
HSTS is sent when the platform's public URL is https.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).parent
PERMISSIONS = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
               "payment=(), usb=(), interest-cohort=()")


def policy(nonce: str, docs: bool = False) -> str:
    # Swagger UI sets style attributes in its markup; only its page allows them.
    style = "'self' 'unsafe-inline'" if docs else "'self'"
    return (f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src {style}; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app, self.https = app, https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        docs = scope.get("path") == "/docs"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                h["Content-Security-Policy"] = policy(nonce, docs)
                h["X-Content-Type-Options"] = "nosniff"
                h["X-Frame-Options"] = "DENY"
                h["Referrer-Policy"] = "no-referrer"
                h["Permissions-Policy"] = PERMISSIONS
                h["Cross-Origin-Opener-Policy"] = "same-origin"
                if self.https:
                    h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)


DOCS_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/civic-assets/docs.js"></script></body></html>"""


def install(api: FastAPI, https: bool) -> None:
    """Headers on every response; ``/docs`` from the bundled Swagger UI; the platform's own scripts."""
    from swagger_ui_bundle import swagger_ui_path

    api.add_middleware(SecurityHeaders, https=https)
    api.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    api.mount("/civic-assets", StaticFiles(directory=HERE / "static"), name="civic-assets")

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE.format(title=api.title))
