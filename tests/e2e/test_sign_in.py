"""Signing in and out through a real ``civic serve`` and its demo identity provider: sessions
end everywhere, sign-in state stays on the server, callback errors are pages, and start-up
refuses what would not work."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from civicmoments.cli import main

from .conftest import CIVIC, civic_env, free_port, wait_for


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sign-in")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = civic_env(tmp, CIVIC_PORT=str(port), CIVIC_PUBLIC_URL=url, CIVIC_DEMO_MODE="true")
    subprocess.run([*CIVIC, "people", "add", "--id", "ni_number=SJ123456A"], env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([*CIVIC, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _up(url), timeout=60)
    yield url, tmp
    proc.terminate()
    proc.wait(timeout=20)


def start(c: httpx.Client) -> tuple[str, dict[str, str]]:
    """Up to the demo provider's page: its form's action and fields."""
    page = c.get("/sign-in", follow_redirects=True)
    form = re.search(r'<form method="post" action="(/demo-idp/authorize)">(.*?)</form>', page.text, re.S)
    return form.group(1), dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))


def sign_in(c: httpx.Client) -> str:
    """A full sign-in; the callback URL the provider sent the browser to."""
    action, fields = start(c)
    to_callback = c.post(action, data=fields)
    assert to_callback.status_code == 303
    callback = to_callback.headers["location"]
    home = c.get(callback, follow_redirects=True)
    assert home.status_code == 200 and "/sign-out" in home.text
    return callback


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(portal):
    url, _ = portal
    with httpx.Client(base_url=url) as person, httpx.Client(base_url=url) as thief:
        sign_in(person)
        thief.cookies.set("civic_session", person.cookies["civic_session"])
        assert thief.get("/data").status_code == 200  # a copied cookie works while the session lasts
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', person.get("/data").text).group(1)
        assert person.post("/sign-out", data={"csrf_token": csrf}).status_code == 303
        for who in (person, thief):
            after = who.get("/data")
            assert after.status_code == 303 and after.headers["location"] == "/sign-in"


def test_sign_in_state_is_kept_on_the_server_not_in_the_cookie(portal):
    url, tmp = portal
    with httpx.Client(base_url=url) as c:
        start(c)
        token = c.cookies["civic_session"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # a random token, nothing to read
        with sqlite3.connect(tmp / "civic.db") as db:
            (data,) = [r[0] for r in db.execute("SELECT data FROM sessions") if "code_verifier" in r[0]][:1]
        assert "code_verifier" in data and token not in data


def test_a_replayed_callback_is_a_page_offering_to_sign_in_again(portal):
    url, _ = portal
    with httpx.Client(base_url=url) as c:
        callback = sign_in(c)
        again = c.get(callback)  # refresh or back button
        assert again.status_code == 400
        assert "There was a problem signing in" in again.text and 'href="/sign-in"' in again.text
    with httpx.Client(base_url=url) as other:  # the same callback in a fresh browser
        assert other.get(callback).status_code == 400


def test_a_state_mismatch_and_a_refusal_at_the_provider_are_pages(portal):
    url, _ = portal
    with httpx.Client(base_url=url) as c:
        action, fields = start(c)
        callback = c.post(action, data=fields).headers["location"]
        q = parse_qs(urlsplit(callback).query)
        wrong = c.get("/auth/callback", params={"code": q["code"][0], "state": "not-the-state"})
        assert wrong.status_code == 400 and "Sign in again" in wrong.text
        denied = c.get("/auth/callback", params={"error": "access_denied", "state": q["state"][0]})
        assert denied.status_code == 403 and "You chose not to sign in" in denied.text
        assert c.get("/auth/callback").status_code == 400  # nothing at all


def test_the_demo_provider_checks_the_redirect_uri_and_requires_pkce(portal):
    url, _ = portal
    with httpx.Client(base_url=url) as c:
        location = c.get("/sign-in").headers["location"]
        q = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert c.get("/demo-idp/authorize", params=q).status_code == 200
        evil = c.get("/demo-idp/authorize", params={**q, "redirect_uri": "https://evil.example/cb"})
        assert evil.status_code == 400
        no_pkce = {k: v for k, v in q.items() if k not in ("code_challenge", "code_challenge_method")}
        assert c.get("/demo-idp/authorize", params=no_pkce).status_code == 400
        forged = c.post("/demo-idp/authorize", data={"client_id": q["client_id"], "sub": "x", "code_challenge": "c",
                                                    "redirect_uri": "https://evil.example/cb"})
        assert forged.status_code == 400
        code = parse_qs(urlsplit(c.post("/demo-idp/authorize", data={
            "client_id": q["client_id"], "sub": "x", "code_challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"]}).headers["location"]).query)["code"][0]
        token = c.post("/demo-idp/token", data={"code": code, "redirect_uri": q["redirect_uri"],
                                                "client_id": q["client_id"], "client_secret": "civic-portal-demo-secret",
                                                "code_verifier": "not-the-verifier"})
        assert token.status_code == 400 and token.json()["error"] == "invalid_grant"


def test_serve_refuses_to_start_without_an_identity_provider_outside_demo_mode(tmp_path):
    env = civic_env(tmp_path, CIVIC_PORTAL="true")
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1
    assert "CIVIC_OIDC_ISSUER" in result.output and "CIVIC_OIDC_CLIENT_SECRET" in result.output
    env = civic_env(tmp_path, CIVIC_PORTAL="true", CIVIC_OIDC_ISSUER="https://idp.example")
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1 and "set CIVIC_OIDC_CLIENT_SECRET" in result.output
    assert "CIVIC_OIDC_ISSUER and" not in result.output


def test_a_command_in_another_directory_finds_no_keys_and_makes_none(tmp_path, monkeypatch):
    data = tmp_path / "data"
    env = civic_env(data)
    assert CliRunner().invoke(main, ["people", "add"], env=env).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    env = civic_env(elsewhere, CIVIC_DATABASE_URL=f"sqlite:///{data / 'civic.db'}")
    del env["CIVIC_DATA_DIR"]  # the default, .civic here
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert "exists but its keys are not at" in result.output and "CIVIC_DATA_DIR" in result.output
    assert "TAMPERED" not in result.output
    assert not list(elsewhere.rglob("keys.json"))
    ok = CliRunner().invoke(main, ["audit", "verify"], env={**env, "CIVIC_DATA_DIR": str(data)})
    assert ok.exit_code == 0 and "intact" in ok.output


def test_an_anonymous_visit_stores_no_session(portal):
    url, _ = portal
    with httpx.Client(base_url=url) as c:
        start_page = c.get("/")
        assert start_page.status_code == 200 and "set-cookie" not in start_page.headers
        assert "set-cookie" in c.get("/sign-in").headers  # signing in starts one, on the server


def test_a_person_asks_to_erase_and_the_request_is_recorded_for_a_case(portal):
    url, tmp = portal
    with httpx.Client(base_url=url) as c:
        sign_in(c)
        assert 'href="/data/erase"' in c.get("/data").text
        form = c.get("/data/erase")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        empty = c.post("/data/erase", data={"csrf_token": csrf, "details": " "})
        assert empty.status_code == 400 and "govuk-error-summary" in empty.text
        sent = c.post("/data/erase", data={"csrf_token": csrf, "details": "My old address, please"})
        assert sent.status_code == 200 and "Your request has been sent" in sent.text
    with sqlite3.connect(tmp / "civic.db") as db:
        rows = db.execute("SELECT person_id, details, status FROM erasure_requests").fetchall()
        events = db.execute("SELECT subject FROM inbox WHERE type = 'civic.erasure.requested'").fetchall()
    assert [(r[1], r[2]) for r in rows] == [("My old address, please", "received")]
    assert events == [(rows[0][0],)]
