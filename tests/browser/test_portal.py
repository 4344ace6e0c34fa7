"""The citizen portal in real Chromium (Debian's, driven by Playwright), with axe-core.

Abe signs in through the demo identity provider, reads his notice, gives consent,
answers the survey (only what is missing), sees his revised plan, withdraws consent and
sees the next share refused, and reads his access log. Every page is checked by axe-core
for WCAG 2.2 A and AA, in English and Welsh, and saved as a screenshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..conftest import service_missing
from ..e2e.conftest import CIVIC, civic_env, free_port, wait_for
from ..e2e.test_job_loss import TODAY, weekly_rate_on

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PAGES = ["/", "/inbox", "/plan", "/services", "/survey", "/consents", "/data", "/access", "/preferences",
         "/data/correct/occupation", "/contact", "/accessibility", "/privacy", "/no-such-page"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    service_missing("Chromium (Debian package 'chromium')")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def code_providers():
    """A Notify-like SMS API and an SMTP server on loopback, as CIVIC_* settings: the portal sends
    confirmation codes only where a provider can carry them."""
    from ..channels import NotifyLike, SmtpServer
    from ..integration.test_notifications import email_provider, sms_provider

    sms, smtp = NotifyLike(201).start(), SmtpServer().start()
    try:
        yield {"CIVIC_SMS_PROVIDERS": json.dumps([sms_provider(sms)]),
               "CIVIC_EMAIL_PROVIDERS": json.dumps([email_provider(smtp)])}
    finally:
        sms.stop()
        smtp.stop()


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    if not AXE.exists():
        service_missing("axe-core (npm ci)")
    tmp = tmp_path_factory.mktemp("portal")
    port, jm = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    providers = contextlib.ExitStack()
    env = civic_env(tmp, CIVIC_PORT=str(port), CIVIC_PUBLIC_URL=url, CIVIC_DEMO_MODE="true",
                    CIVIC_NOW=f"{TODAY}T09:00:00Z", **providers.enter_context(code_providers()),
                    CIVIC_SESSION_SECRET="portal-test-secret",
                    CIVIC_PARTNER_URLS=json.dumps({"JobMatch": f"http://127.0.0.1:{jm}/v1/profiles"}))
    tokens = {}
    for name, source, scopes in [
        ("Northfield", "https://northfield.example/*", ["uk.gov.dwp.employment.*"]),
        ("HMRC", "https://hmrc.example/*", ["people:write", "facts:identity", "facts:income", "facts:address",
                                            "facts:employment", "facts:contact"]),
        ("JobMatch", "https://jobmatch.example/*", ["jobmatch.*"]),
    ]:
        args = [a for s in scopes for a in ("--scope", s)]
        out = subprocess.run([*CIVIC, "orgs", "add", name, "--source", source, *args, "--json"], env=env,
                             capture_output=True, text=True, check=True)
        tokens[name] = json.loads(out.stdout)["token"]
    subprocess.run([*CIVIC, "agreements", "put", "jm", "--recipient", "JobMatch", "--purpose", "employment-support",
                    *[a for x in ["occupation", "skills", "home_area", "aspirations", "travel_radius_miles"]
                      for a in ("--attribute", x)]], env=env, check=True, capture_output=True)
    partner_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    procs = [subprocess.Popen([*CIVIC, "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL),
             subprocess.Popen([sys.executable, "-m", "partners.jobmatch", "--port", str(jm), "--platform", url,
                               "--token", tokens["JobMatch"]], env=partner_env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for u in (url, f"http://127.0.0.1:{jm}"):
        wait_for(lambda u=u: _up(u), timeout=60)
    hmrc = {"Authorization": f"Bearer {tokens['HMRC']}"}
    abe = httpx.post(f"{url}/v1/people", json={}, headers=hmrc).json()["id"]
    facts = {"given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1981-03-14", "home_area": "Leeds",
             "postcode": "LS1 4AP", "occupation": "welder", "skills": "arc welding", "employer": "Northfield",
             "class1_earnings_last_year_pence": 3_100_000, "class1_earnings_year_before_pence": 2_950_000}
    httpx.post(f"{url}/v1/people/{abe}/facts", headers=hmrc,
               json=[{"attribute": k, "value": v} for k, v in facts.items()]).raise_for_status()
    event = {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": "https://northfield.example/hr",
             "id": "N-abe", "subject": abe, "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 45}}
    httpx.post(f"{url}/v1/events", json=event, headers={"Authorization": f"Bearer {tokens['Northfield']}",
                                                        "Content-Type": "application/cloudevents+json"})
    yield url
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)
    providers.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def check(page, name: str, axe: bool = True) -> None:
    """axe-core finds no WCAG 2.2 A or AA violation; the page is kept as a screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if not axe:  # axe runs as a script; a page without JavaScript is checked with it on, above
        return
    # GOV.UK Frontend ran under the Content-Security-Policy: the nonce'd inline script and init.js
    assert "govuk-frontend-supported" in (page.get_attribute("body", "class") or ""), name
    buttons = page.locator('[data-module="govuk-button"]').count()
    assert page.locator("[data-govuk-button-init]").count() == buttons, name
    page.evaluate(AXE.read_text())  # through DevTools, which the page's CSP does not govern (a script tag would be refused)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    problems = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert problems == [], f"{name}: {problems}"


def sign_in(page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Abe Ashworth").click()
    page.wait_for_url(url + "/")


def test_abes_journey_through_the_portal(portal, browser):
    url = portal
    page = browser.new_page()
    page.goto(url + "/")
    check(page, "start-en")
    sign_in(page, url)
    assert page.get_by_role("heading", level=1).inner_text() == "Hello, Abe"

    page.get_by_role("link", name="Inbox").first.click()
    wait_for(lambda: page.goto(url + "/inbox") and page.get_by_role("link", name="Help after your job ended").count(),
             timeout=60)
    page.get_by_role("link", name="Help after your job ended").click()
    rate = weekly_rate_on(TODAY, "rate_25_or_over")
    assert f"New Style Jobseeker's Allowance of £{rate:.2f} a week" in page.inner_text("main")

    page.goto(url + "/consents")
    page.get_by_role("button", name=re.compile("Give consent.*Helping you back into work")).click()
    assert page.inner_text("#confirmation") .endswith("You gave consent: Helping you back into work.")
    check(page, "consent-given-en")
    assert page.get_by_role("button", name=re.compile("Withdraw consent.*Helping you back into work")).count() == 1

    page.goto(url + "/survey")
    labels = [label.inner_text().strip() for label in page.locator("form label, form legend").all()]
    assert "What work would you like to do?" in labels and "How many miles would you travel to work?" in labels
    assert page.locator("#last_day_of_work-day").count() == 0  # Northfield reported it: a fact, never asked
    assert "20 November 2026" in page.inner_text("main") and "Northfield" in page.inner_text("main")
    # Bad input first: nothing lost, every error named at the top and by its field.
    page.fill("#travel_radius_miles", "15")
    page.fill("#sort_code", "12")
    page.get_by_role("button", name="Continue").click()
    summary = page.inner_text(".govuk-error-summary")
    for error in ("Enter the work you would like to do", "Enter a valid sort code like 20 00 00",
                  "Enter a valid account number like 00733445"):
        assert error in summary
    assert page.input_value("#travel_radius_miles") == "15"
    assert page.title().startswith("Error: ")
    check(page, "survey-errors-en")
    page.locator(".govuk-error-summary a", has_text="sort code").click()  # the link moves focus to the field
    assert page.evaluate("document.activeElement.id") == "sort_code"
    page.fill("#aspirations", "nurse caring for patients")
    page.fill("#sort_code", "20 00 00")
    page.fill("#account_number", "55779911")
    page.get_by_role("button", name="Continue").click()
    answers = page.inner_text("#check-answers")  # Check your answers: nothing saved yet
    assert "Account ending 9911" in answers and "55779911" not in answers and "15 miles" in answers
    check(page, "check-answers-en")
    page.get_by_role("button", name="Confirm and save").click()
    assert page.inner_text("#confirmation").endswith("Your answers are saved.")
    check(page, "answers-saved-en")

    def revised() -> bool:
        page.goto(url + "/inbox")
        return page.get_by_role("link", name="Your return-to-work plan").count() > 0

    wait_for(revised, timeout=60)
    page.goto(url + "/plan")
    jobs = page.inner_text("#jobs")
    assert page.locator("#jobs li").count() >= 5 and re.search(r"(\d+ miles|less than a mile|1 mile) away", jobs)
    assert not re.search(r"\d+\.\d+ miles|£[\d,]+\.00", jobs)  # no machine formats
    titles = page.locator("#jobs h3").all_inner_texts()
    assert all(t[:1].isupper() for t in titles), titles  # as published

    page.goto(url + "/consents")
    page.get_by_role("button", name=re.compile("Withdraw consent.*Helping you back into work")).click()
    page.goto(url + "/plan")
    page.locator("input[name=slot]").first.check()
    page.get_by_role("button", name="Book this interview").click()
    summary = page.inner_text(".govuk-error-summary")  # without consent nothing goes to JobMatch: told, not booked
    assert "Nothing was sent to JobMatch" in summary and "consents page" in summary
    assert "Interview booked" not in page.inner_text("main")

    def refused() -> bool:
        page.goto(url + "/access")
        return "JobMatch asked for your data" in page.inner_text("#access-log")

    wait_for(refused, timeout=60)
    log = page.inner_text("#access-log")
    assert "JobMatch received your occupation" in log and "consent" in log
    page.goto(url + "/")  # a withdrawn consent stops messages and shares, not Abe's journey
    assert "In progress" in page.inner_text("main")


def test_every_page_passes_axe_in_english_and_welsh(portal, browser):
    page = browser.new_page()
    sign_in(page, portal)
    for lang in ("en", "cy"):
        page.goto(f"{portal}/language?to={lang}&next=/")
        assert page.get_attribute("html", "lang") == lang
        for path in PAGES:
            page.goto(portal + path)
            check(page, f"{path.strip('/').replace('/', '-') or 'home'}-{lang}")
        page.goto(portal + "/inbox")  # and the pages reached from others: a message, a decision
        page.locator("table a").first.click()
        check(page, f"message-{lang}")
        page.goto(portal + "/services")
        page.locator("main ul a").first.click()
        check(page, f"service-explained-{lang}")


def test_decision_pages_lead_with_a_plain_sentence_in_english_and_welsh(portal, browser):
    page = browser.new_page()
    sign_in(page, portal)
    rate = weekly_rate_on(TODAY, "rate_25_or_over")
    first = {"en": (f"You can get £{rate:.2f} a week for up to 182 days, because you paid enough National Insurance "
                    "in the two tax years that count for your claim: 2023 to 2024 and 2024 to 2025."),
             "cy": (f"Gallwch gael £{rate:.2f} yr wythnos am hyd at 182 diwrnod, oherwydd i chi dalu digon o "
                    "Yswiriant Gwladol yn y ddwy flwyddyn dreth sy'n cyfrif ar gyfer eich hawliad: 2023 i 2024 a "
                    "2024 i 2025.")}
    heading = {"en": "The facts we used", "cy": "Y ffeithiau a ddefnyddiwyd gennym"}
    asking = {"en": "Ask for the decision to be looked at again", "cy": "Gofyn i ni edrych ar y penderfyniad eto"}
    change = {"en": "You could get it if you are responsible for a child under 16",
              "cy": "Gallech ei gael os ydych yn gyfrifol am blentyn dan 16 oed"}
    for lang in ("en", "cy"):
        page.goto(f"{portal}/language?to={lang}&next=/")
        page.goto(portal + "/services/jsa-new-style")
        main = page.inner_text("main")
        paragraphs = [p.strip() for p in page.locator("main p").all_inner_texts() if p.strip()]
        assert paragraphs[0] == first[lang]
        assert heading[lang] in main
        assert not re.search(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", main), main  # no variable names
        laws = page.locator("main ul.govuk-list--bullet").last.locator("li").all_inner_texts()
        assert laws and len(laws) == len(set(laws))
        check(page, f"why-jsa-{lang}")
        page.goto(portal + "/services/child-benefit")  # Abe has no children: why not, and what would change it
        assert change[lang] in page.inner_text("#why-change")
        review = page.locator("#why-review")  # a "no" offers to ask for the decision to be looked at again
        assert review.get_attribute("href") == "/decisions" and review.inner_text() == asking[lang]
        assert not re.search(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", page.inner_text("main"))
        check(page, f"why-not-child-benefit-{lang}")
    page.goto(f"{portal}/language?to=en&next=/")


def test_forms_work_without_javascript_and_keep_what_was_entered(portal, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, portal)
    page.goto(portal + "/data/correct/occupation")
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    assert summary.count() == 1 and "There is a problem" in summary.inner_text()
    page.fill("#details", "I am a welder, not a welding inspector")
    page.get_by_role("button", name="Continue").click()
    assert "We have your correction" in page.inner_text("main")
    check(page, "correction-sent-nojs", axe=False)
    page.goto(portal + "/preferences")
    page.check("input[name=language][value=cy]")
    page.get_by_role("button", name="Save").click()
    assert page.is_checked("input[name=language][value=cy]")  # saved, with no script on the page
    context.close()


def test_a_form_without_its_csrf_token_is_refused(portal):
    with httpx.Client(base_url=portal, follow_redirects=True) as c:
        page = c.get("/sign-in")
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text.split("<form", 2)[1]))
        c.post("/demo-idp/authorize", data=fields)
        r = c.post("/consents", data={"purpose": "employment-support", "action": "give"})
        assert r.status_code == 400 and "The form expired" in r.text
        set_cookie = page.history[0].headers["set-cookie"].lower()
        assert "civic_session=" in set_cookie and "httponly" in set_cookie and "samesite=lax" in set_cookie


def test_a_tampered_booking_and_an_unknown_service_get_pages_not_stack_traces(portal):
    with httpx.Client(base_url=portal, follow_redirects=True) as c:
        page = c.get("/sign-in")
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text.split("<form", 2)[1]))
        home = c.post("/demo-idp/authorize", data=fields)
        token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
        r = c.post("/plan/book", data={"csrf_token": token, "slot": "no-such-job|2026-12-01T10:00:00+00:00"})
        assert r.status_code == 422 and "govuk-error-summary" in r.text and "is not in your plan" in r.text
        r = c.get("/services/no-such-service")
        assert r.status_code == 404 and "Page not found" in r.text


def test_welsh_pages_read_in_welsh_and_mark_what_stays_english(portal, browser):
    page = browser.new_page()
    sign_in(page, portal)
    page.goto(f"{portal}/language?to=cy&next=/")
    home = page.inner_text("main")
    assert "Dywedodd Northfield wrthym fod eich swydd wedi dod i ben ar 20 Tachwedd 2026." in home
    assert page.locator("#tasks .govuk-task-list__item").count() >= 2  # a task list, with dates
    check(page, "home-tasks-cy")
    page.goto(portal + "/plan")
    english = page.locator("main [lang=en]")
    if page.locator("#jobs").count():
        assert page.locator("#jobs h3[lang=en]").count() == page.locator("#jobs h3").count()
        assert english.count() > 0
    assert page.get_attribute("html", "lang") == "cy"
    check(page, "plan-lang-cy")
    page.goto(portal + "/no-such-page")
    assert page.get_attribute("html", "lang") == "cy" and "Heb ddod o hyd i'r dudalen" in page.inner_text("h1")
    page.set_viewport_size({"width": 360, "height": 740})  # a phone: the switch is still there, not in the menu
    assert page.locator("#language-switch").is_visible() and page.locator("#sign-out").is_visible()
    check(page, "not-found-mobile-cy")
    page.goto(f"{portal}/language?to=en&next=/")
    page.close()


def test_home_is_a_task_list_with_dates_and_sign_in_returns_to_the_page(portal, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(portal + "/privacy")
    assert "Who it goes to" in page.inner_text("main")
    page.goto(portal + "/access")  # a deep link: sign in, then back here
    page.get_by_role("button", name="Abe Ashworth").click()
    page.wait_for_url(portal + "/access")
    assert "Northfield told us your" in page.inner_text("main")
    page.goto(portal + "/")
    tasks = page.inner_text("#tasks")
    assert re.search(r"Read your notice of assistance \(sent \d{1,2} [A-Z][a-z]+ 20\d\d\)", tasks)
    assert not re.search(r"20\d\d-\d\d-\d\d", page.inner_text("main"))  # no ISO dates
    assert page.locator("header #sign-out").count() == 1
    check(page, "home-tasks-en")
    context.close()


def test_the_error_page_passes_axe_in_english_and_welsh(portal, browser, tmp_path, clock):
    """The 500 page as the portal renders it (from an app with a failing route), shown in Chromium
    from the portal's own address, so its assets and scripts load as on any page."""
    from fastapi.testclient import TestClient

    from civicmoments.api.app import create_app

    from ..conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'civic.db'}", clock,
                   settings={"session_secret": "portal-test-secret-" + "x" * 20, "demo_mode": True})
    api = create_app(app)

    @api.get("/broken", include_in_schema=False)
    def broken() -> None:
        raise RuntimeError("a bug")

    with TestClient(api, raise_server_exceptions=False) as client:
        pages = {"en": client.get("/broken")}
        client.get("/language?to=cy&next=/")
        pages["cy"] = client.get("/broken")
    app.store.close()
    page = browser.new_page()
    for lang, response in pages.items():
        assert response.status_code == 500 and f'<html lang="{lang}"' in response.text
        page.route(f"{portal}/broken", lambda route, _request, body=response.text: route.fulfill(
            status=500, body=body, content_type="text/html; charset=utf-8"))
        page.goto(f"{portal}/broken")
        heading = {"en": "Sorry, there is a problem with the service",
                   "cy": "Mae'n ddrwg gennym, mae problem gyda'r gwasanaeth"}[lang]
        assert page.inner_text("h1") == heading
        check(page, f"error-500-{lang}")
        page.unroute(f"{portal}/broken")
    page.close()


def test_contact_details_pages_and_the_code_page_pass_axe_in_english_and_welsh(portal, browser):
    page = browser.new_page()
    sign_in(page, portal)
    words = {"en": ("What is your mobile phone number?", "Enter the code", "Enter a UK mobile phone number",
                    "The code is not right"),
             "cy": ("Beth yw rhif eich ffôn symudol?", "Rhowch y cod", "Rhowch rif ffôn symudol yn y DU",
                    "Nid yw'r cod yn gywir")}
    for lang, (question, title, bad_number, bad_code) in words.items():
        page.goto(f"{portal}/language?to={lang}&next=/preferences")
        page.locator("a[href='/preferences/contact/phone']").click()
        assert page.inner_text("h1").strip() == question
        check(page, f"contact-phone-{lang}")
        page.fill("#phone", "0113 496 0000")  # a landline
        page.get_by_role("button").filter(has_text={"en": "Send the code", "cy": "Anfon y cod"}[lang]).click()
        assert bad_number in page.inner_text(".govuk-error-summary")
        check(page, f"contact-phone-error-{lang}")
        page.locator(".govuk-error-summary a").first.click()  # the error's link puts focus on the field
        assert page.evaluate("document.activeElement.id") == "phone"
        page.fill("#phone", "07400 123 456")
        page.get_by_role("button").filter(has_text={"en": "Send the code", "cy": "Anfon y cod"}[lang]).click()
        page.wait_for_url(portal + "/preferences/code")
        assert page.inner_text("h1").strip() == title and "+447400123456" in page.inner_text("main")
        check(page, f"contact-code-{lang}")
        page.fill("#code", "000000" if lang == "en" else "999999")  # one chance in a million of being right
        page.get_by_role("button").filter(has_text={"en": "Confirm", "cy": "Cadarnhau"}[lang]).click()
        assert bad_code in page.inner_text(".govuk-error-summary")
        assert page.get_attribute("html", "lang") == lang
        check(page, f"contact-code-error-{lang}")
    page.goto(f"{portal}/language?to=en&next=/")
    page.close()


def test_a_message_page_marks_the_language_the_message_was_written_in(portal, browser):
    page = browser.new_page()
    sign_in(page, portal)
    page.goto(f"{portal}/language?to=en&next=/inbox")
    page.locator("table a").first.click()
    written = page.get_attribute("#message", "lang")
    assert written in ("en", "cy") and page.get_attribute("html", "lang") == "en"
    english = page.url
    page.goto(f"{portal}/language?to=cy&next=/inbox")  # the page in Welsh; the message as it was written
    page.goto(english)
    assert page.get_attribute("html", "lang") == "cy" and page.get_attribute("#message", "lang") == written
    assert page.locator("#message h1").count() == 1
    check(page, "message-lang-cy")
    page.goto(f"{portal}/language?to=en&next=/")
    page.close()
