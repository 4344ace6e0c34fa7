"""Every route answers with the security headers, and the API's documentation loads nothing
from elsewhere."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from civicmoments.api.app import create_app

from ..conftest import make_app

EXPECTED = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


@pytest.fixture(params=["http", "https"])
def client(request, sqlite_url, clock):
    public = "https://civic.example" if request.param == "https" else "http://testserver"
    civic = make_app(sqlite_url, clock, settings={"demo_mode": True, "public_url": public})
    api = create_app(civic)
    with TestClient(api, base_url=public) as c:
        c.https = request.param == "https"
        yield api, c
    civic.store.close()


def routes_of(routes) -> list:
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)  # a router included in the app
        out += routes_of(included.routes) if included is not None else [route]
    return out


def every_route(api) -> list[tuple[str, str]]:
    out = []
    for route in routes_of(api.routes):
        if isinstance(route, APIRoute):
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            out += [(m, path) for m in sorted(route.methods - {"HEAD"})]
        elif isinstance(route, Mount):
            out.append(("GET", f"{route.path}/nothing-here.js"))
    return out + [("GET", "/no-such-page"), ("GET", "/static/govuk-frontend.min.js"), ("GET", "/civic-assets/init.js")]


def test_every_route_sends_the_security_headers(client):
    api, c = client
    routes = every_route(api)
    assert len(routes) > 40 and ("GET", "/docs") in routes and ("POST", "/v1/events") in routes
    for method, path in routes:
        r = c.request(method, path, follow_redirects=False)
        # no identity provider listens here, so signing in (the person's or staff's) says it is
        # unavailable (a page, 502); no engine runs here either, and /healthz says so (503)
        assert r.status_code < 500 or (path in ("/sign-in", "/staff/sign-in") and r.status_code == 502) \
            or (path, r.status_code) == ("/healthz", 503), (method, path, r.status_code)
        h = r.headers
        for name, value in EXPECTED.items():
            assert h.get(name) == value, (method, path, name)
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp, (method, path)
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "camera=()" in h["permissions-policy"]
        assert ("strict-transport-security" in h) == c.https, (method, path)


def test_the_only_inline_script_on_a_page_carries_the_nonce(client):
    _, c = client
    page = c.get("/")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.text)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
    assert c.get("/").headers["content-security-policy"] != page.headers["content-security-policy"]  # fresh


def test_the_api_documentation_comes_from_the_platform_itself(client):
    _, c = client
    docs = c.get("/docs")
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert sources and all(s.startswith("/") for s in sources)
    assert all(c.get(s).status_code == 200 for s in sources)
    assert "<script>" not in docs.text
