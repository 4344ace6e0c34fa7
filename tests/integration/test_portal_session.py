"""The session-timeout warning's "Stay signed in" at the HTTP boundary: it gives the session its
full time again from now, so it outlives its first end; without it the session ends on time, and
the page that says so speaks the person's language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.web.portal import SESSION_SECONDS

from ..conftest import make_app
from .test_interview_booking import signed_in

SECRET = "portal-test-secret-" + "x" * 20


@pytest.fixture
def portal(db_url, clock):
    app = make_app(db_url, clock, settings={"session_secret": SECRET, "demo_mode": True})
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "given_name", "value": "Abe"}])
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        signed_in(app, client, person)  # a session that ends an hour from now
        yield app, client
    app.store.close()


def timer(page: str) -> tuple[int, str]:
    found = re.search(r'id="civic-timeout" data-warn-before="300" data-sign-out-after="(\d+)".*?data-csrf="([^"]+)"',
                      page)
    return int(found.group(1)), found.group(2)


def test_stay_signed_in_outlives_the_first_end(portal):
    app, client = portal
    left, token = timer(client.get("/plan").text)
    assert left == 3600
    app.clock.advance(timedelta(minutes=56))
    assert timer(client.get("/plan").text)[0] == 240  # the warning is due: four minutes left
    refused = client.post("/session/renew", data={"csrf_token": "not-the-token"})
    # the session's CSRF token, or nothing is renewed: said in problem JSON the page reads, the session kept
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/csrf") and "still signed in" in refused.json()["detail"]
    assert timer(client.get("/plan", follow_redirects=False).text)[0] == 240
    stayed = client.post("/session/renew", data={"csrf_token": token})
    assert stayed.status_code == 200 and stayed.json() == {"seconds_left": SESSION_SECONDS}
    app.clock.advance(timedelta(minutes=30))  # 26 minutes past the first end
    page = client.get("/plan", follow_redirects=False)
    assert page.status_code == 200 and timer(page.text)[0] == SESSION_SECONDS - 30 * 60


def test_without_it_the_session_ends_on_time_and_says_so_in_welsh(portal):
    app, client = portal
    client.get("/language?to=cy&next=/")
    _, token = timer(client.get("/plan").text)
    app.clock.advance(timedelta(minutes=59))
    assert client.get("/signed-out", follow_redirects=False).headers["location"] == "/"  # not yet
    app.clock.advance(timedelta(minutes=1))
    assert client.get("/plan", follow_redirects=False).headers["location"] == "/sign-in"
    late = client.post("/session/renew", data={"csrf_token": token})
    assert late.status_code == 401 and late.headers["content-type"] == "application/problem+json"
    gone = client.get("/signed-out?lang=cy")
    assert gone.status_code == 200 and '<html lang="cy"' in gone.text
    assert "Rydych wedi cael eich allgofnodi" in gone.text and 'href="/sign-in"' in gone.text
    assert 'id="civic-timeout"' not in gone.text
    english = client.get("/signed-out?lang=en")
    assert "You have been signed out" in english.text


def test_the_reused_navigation_carries_each_persons_own_sign_out_token(db_url, clock):
    """The header's navigation is rendered once and reused (``MacroMemo``); the CSRF token in its
    sign-out form is filled in per page, so one person's page never carries another's token."""
    app = make_app(db_url, clock, settings={"session_secret": SECRET, "demo_mode": True})
    web = create_app(app)
    people = [app.registry.add_person(), app.registry.add_person()]
    tokens = []
    with TestClient(web) as first, TestClient(web) as second:
        for client, person in zip((first, second), people, strict=True):
            signed_in(app, client, person)
            for _ in range(2):  # the second page reuses the navigation the first made
                page = client.get("/plan").text
                form = re.search(r'action="/sign-out".*?name="csrf_token" value="([^"]*)"', page, re.S).group(1)
                assert form == timer(page)[1]  # the sign-out form and the timeout warning: the session's token
            tokens.append(form)
        assert tokens[0] != tokens[1]
        assert first.post("/sign-out", data={"csrf_token": tokens[1]}).status_code == 400  # not the other's
        assert first.post("/sign-out", data={"csrf_token": tokens[0]}, follow_redirects=False).status_code == 303
        assert second.get("/plan", follow_redirects=False).status_code == 200  # still signed in
    app.store.close()
