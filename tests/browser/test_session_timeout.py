"""GOV.UK's session-timeout warning in real Chromium, on a settable clock at both ends: the
platform runs in this process on a FakeClock, and the page's timers on Playwright's clock.

"Stay signed in" asks the platform for the session's full time again, so the person is still
signed in past the session's first end and the warning's timers start again; without it the
person is signed out on time and told so, in the page's language.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
import uvicorn

from civicmoments.api.app import create_app
from civicmoments.domain.clock import FakeClock
from civicmoments.web.portal import SESSION_SECONDS

from ..conftest import make_app
from .test_portal import browser, check  # noqa: F401 - the portal's Chromium and axe-core check

pytestmark = pytest.mark.browser
WARN_BEFORE = 300  # seconds: the warning comes five minutes before the end


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    clock = FakeClock()
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('timeout') / 'civic.db'}", clock, settings={
        "session_secret": "portal-test-secret-" + "x" * 20, "demo_mode": True, "public_url": url})
    person = app.registry.add_person()
    app.registry.record(None, person, [{"attribute": "given_name", "value": "Abe"},
                                       {"attribute": "family_name", "value": "Ashworth"}])
    server = uvicorn.Server(uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    yield url, clock
    server.should_exit = True
    app.store.close()


def _signed_in_page(browser, url: str, lang: str = "en"):  # noqa: F811 - the fixture
    page = browser.new_context().new_page()
    page.clock.install()  # the page's timers run when the test says
    page.goto(url + "/")
    if lang == "cy":
        page.locator("#language-switch").click()
    page.locator(".govuk-button--start").click()
    page.get_by_role("button", name="Abe Ashworth").click()
    page.wait_for_url(url + "/")
    page.goto(url + "/plan")
    return page


def test_stay_signed_in_keeps_the_person_signed_in_past_the_first_end(platform, browser):  # noqa: F811
    url, clock = platform
    page = _signed_in_page(browser, url)
    dialog = page.locator("#civic-timeout-dialog")
    assert not dialog.is_visible()
    clock.advance(timedelta(seconds=SESSION_SECONDS - WARN_BEFORE + 10))
    page.clock.run_for((SESSION_SECONDS - WARN_BEFORE + 10) * 1000)
    dialog.wait_for(state="visible")
    assert "You will be signed out soon" in dialog.inner_text()
    check(page, "timeout-warning-en")
    page.get_by_role("button", name="Stay signed in").click()
    dialog.wait_for(state="hidden")
    clock.advance(timedelta(minutes=30))  # 25 minutes past the session's first end
    page.clock.run_for(30 * 60 * 1000)  # the first sign-out timer would have fired by now
    assert page.url == url + "/plan" and not dialog.is_visible()
    page.goto(url + "/plan")
    assert page.url == url + "/plan" and page.locator("#sign-out").count() == 1  # still signed in
    # and the warning's timers started again from the renewed session
    page.clock.run_for((SESSION_SECONDS - 30 * 60 - WARN_BEFORE + 10) * 1000)
    dialog.wait_for(state="visible")
    page.context.close()


def test_without_it_the_person_is_signed_out_on_time_and_told_so_in_welsh(platform, browser):  # noqa: F811
    url, clock = platform
    page = _signed_in_page(browser, url, lang="cy")
    clock.advance(timedelta(seconds=SESSION_SECONDS + 1))
    page.clock.run_for((SESSION_SECONDS + 1) * 1000)
    page.wait_for_url(url + "/signed-out?lang=cy")
    assert page.get_attribute("html", "lang") == "cy"
    assert page.locator("h1").inner_text() == "Rydych wedi cael eich allgofnodi"
    check(page, "signed-out-cy")
    page.goto(url + "/plan")
    assert "/plan" not in page.url  # signed out: the plan asks them to sign in again
    assert page.locator("#sign-out").count() == 0
    page.context.close()


def test_a_refused_security_token_keeps_the_person_signed_in_and_says_to_try_again(platform, browser):  # noqa: F811
    url, clock = platform
    page = _signed_in_page(browser, url)
    dialog = page.locator("#civic-timeout-dialog")
    page.evaluate("document.getElementById('civic-timeout').dataset.csrf = 'out-of-date'")
    clock.advance(timedelta(seconds=SESSION_SECONDS - WARN_BEFORE + 10))
    page.clock.run_for((SESSION_SECONDS - WARN_BEFORE + 10) * 1000)
    dialog.wait_for(state="visible")
    with page.expect_response(lambda r: r.url.endswith("/session/renew")) as answer:
        page.get_by_role("button", name="Stay signed in").click()
    assert answer.value.status == 403
    page.get_by_text("you are still signed in").wait_for()
    assert page.url == url + "/plan" and dialog.is_visible()
    check(page, "timeout-retry-en")
    with page.expect_navigation():
        page.get_by_role("button", name="Stay signed in").click()  # reloads: a fresh token
    assert page.url == url + "/plan" and page.locator("#sign-out").count() == 1
    page.clock.run_for(10 * 1000)  # the fresh page's warning is due at once
    dialog.wait_for(state="visible")
    page.get_by_role("button", name="Stay signed in").click()
    dialog.wait_for(state="hidden")
    clock.advance(timedelta(minutes=30))
    page.goto(url + "/plan")
    assert page.url == url + "/plan" and page.locator("#sign-out").count() == 1
    page.context.close()
