"""The portal as a person reads it: every change confirmed, answers checked before they are
saved, nothing asked twice, a task list with dates, pages for lost and broken addresses, and a
service that is not dressed as GOV.UK, in English and Welsh."""

from __future__ import annotations

import hashlib
import html
import re

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.web.portal import _local

from ..conftest import make_app
from .test_interview_booking import signed_in

SECRET = "portal-test-secret-" + "x" * 20
EMPLOYER = "https://northfield.example/hr"


@pytest.fixture
def portal(sqlite_url, clock):
    app = make_app(sqlite_url, clock, settings={"session_secret": SECRET, "demo_mode": True})
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    employer, _ = app.organisations.add("Northfield", ["https://northfield.example/*"], ["uk.gov.dwp.employment.*"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in {
        "given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1984-05-02", "home_area": "Leeds",
        "employer": "Northfield", "occupation": "welder", "class1_earnings_last_year_pence": 3_100_000,
        "class1_earnings_year_before_pence": 2_950_000}.items()])
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": EMPLOYER, "id": "n1", "subject": person,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 42}}])
    app.worker.drain()
    api = create_app(app)

    @api.get("/broken", include_in_schema=False)
    def broken() -> None:
        raise RuntimeError("a bug")

    @api.get("/v1/broken", include_in_schema=False)
    def broken_api() -> None:
        raise RuntimeError("a bug")

    with TestClient(api, raise_server_exceptions=False) as client:
        signed_in(app, client, person)
        yield app, client, person
    app.store.close()


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def banner(page: str) -> str:
    found = re.search(r'govuk-notification-banner--success.*?<(?:p|h3)[^>]*>\s*([^<]+?)\s*</', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_consent_and_preferences_are_confirmed_in_english_and_welsh(portal):
    app, client, person = portal
    page = client.get("/consents")
    done = client.post("/consents", data={"csrf_token": csrf(page.text), "purpose": "employment-support",
                                          "action": "give"})
    assert done.status_code == 200 and banner(done.text) == "You gave consent: Helping you back into work."
    assert banner(client.get("/consents").text) == ""  # said once, not on every visit
    client.get("/language?to=cy&next=/")
    page = client.get("/consents")
    done = client.post("/consents", data={"csrf_token": csrf(page.text), "purpose": "employment-support",
                                          "action": "withdraw"})
    assert banner(done.text).startswith("Rydych wedi tynnu caniatâd yn ôl")
    page = client.get("/preferences")
    done = client.post("/preferences", data={"csrf_token": csrf(page.text), "channel": "inbox", "language": "cy"})
    assert banner(done.text).startswith("Mae eich dewisiadau wedi'u cadw")


def test_the_survey_never_asks_the_last_day_the_employer_reported(portal):
    app, client, person = portal
    page = client.get("/survey").text
    assert "last_day_of_work-day" not in page  # a fact, with its source
    assert "Last day of work" in page and "2 January 2026" in page and "Northfield" in page
    fact = app.registry.profile(person)["last_day_of_work"]
    assert fact.value == "2026-01-02" and fact.basis.value == "reported"
    assert "Your benefit can start" not in page
    # each question says why it is asked; bank details, because the rules say he can get a paid benefit
    assert "We need this to pay your New Style Jobseeker&#39;s Allowance into your bank account" in page
    assert "Must be between 6 and 8 digits long" in page


def test_bank_details_are_asked_only_where_a_payment_needs_them(portal):
    app, client, abe = portal
    client.get("/language?to=cy&next=/")
    welsh = client.get("/survey").text  # Abe can get New Style JSA: asked, with the reason, in Welsh
    assert 'name="sort_code"' in welsh and "i dalu eich Lwfans Ceisio Gwaith Dull Newydd i&#39;ch cyfrif banc" in welsh
    employer, hmrc = app.organisations.named("Northfield"), app.organisations.named("HMRC")
    cy = app.registry.add_person()  # too little National Insurance paid: the rules say no benefit
    app.registry.record(hmrc, cy, [{"attribute": k, "value": v} for k, v in {
        "given_name": "Cy", "family_name": "Cole", "date_of_birth": "1990-02-03", "home_area": "Leeds",
        "employer": "Northfield", "occupation": "welder", "class1_earnings_last_year_pence": 100_000,
        "class1_earnings_year_before_pence": 90_000}.items()])
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": EMPLOYER, "id": "n2", "subject": cy,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 35}}])
    app.worker.drain()
    jsa = app.services.decisions(cy, app.clock.now().date())["jsa-new-style"]
    assert not jsa.outputs["jsa_new_style_eligible"]  # a "no" (waiting for a person to review it)
    client.cookies.clear()
    signed_in(app, client, cy)
    page = client.get("/survey")
    assert page.status_code == 200 and 'name="aspirations"' in page.text  # the survey is there
    assert 'name="sort_code"' not in page.text and "Bank details" not in page.text  # no payment: not asked
    sent = client.post("/survey", data={"csrf_token": csrf(page.text), "aspirations": "welding", "travel_radius_miles":
                                        "10", "sort_code": "200000", "account_number": "55779911"})
    assert sent.status_code == 200 and "Account ending" not in sent.text
    client.post("/survey/confirm", data={"csrf_token": csrf(sent.text), "sort_code": "200000",
                                         "account_number": "55779911"})
    assert app.registry.profile(cy)["aspirations"].value == "welding"
    assert "bank_account" not in app.registry.profile(cy)  # nothing kept that no payment needs
    award = app.payments.award(cy, "child-benefit", "cb-cy")  # an award that pays, held for want of an account
    assert award["hold"] == "no-account"
    page = client.get("/survey").text
    assert 'name="sort_code"' in page and "We need this to pay your Child Benefit into your bank account" in page


def test_answers_are_checked_before_they_are_saved_and_bank_details_show_four_digits(portal):
    app, client, person = portal
    page = client.get("/survey")
    bad = client.post("/survey", data={"csrf_token": csrf(page.text), "travel_radius_miles": "15"})
    assert bad.status_code == 400
    assert "Enter the work you would like to do" in bad.text and 'href="#aspirations"' in bad.text
    assert '<span class="govuk-visually-hidden">Error:</span>' in bad.text
    answers = {"csrf_token": csrf(page.text), "aspirations": "nurse caring for patients",
               "travel_radius_miles": "15", "sort_code": "20 00 00", "account_number": "55779911"}
    check = client.post("/survey", data=answers)
    assert check.status_code == 200 and "Check your answers" in check.text
    assert "Account ending 9911" in check.text and "15 miles" in check.text
    assert "nurse caring for patients" in check.text and 'href="/survey#aspirations"' in check.text
    assert "aspirations" not in app.registry.profile(person)  # nothing saved until confirmed
    changed = client.get("/survey")  # "Change": the answers come back, except the bank details
    assert "nurse caring for patients" in changed.text and "55779911" not in changed.text
    done = client.post("/survey/confirm", data={"csrf_token": csrf(check.text), "sort_code": "200000",
                                                "account_number": "55779911"})
    assert done.status_code == 200 and banner(done.text) == "Your answers are saved."
    profile = app.registry.profile(person)
    assert profile["aspirations"].value == "nurse caring for patients"
    data = client.get("/data").text
    assert "Account ending 9911" in data and "55779911" not in data
    assert 'href="/survey?change=aspirations"' in data  # their own answers can be changed
    again = client.get("/survey?change=aspirations").text
    assert 'id="aspirations"' in again and 'name="change" value="aspirations"' in again


def test_a_welsh_date_error_links_to_the_day_field(portal):
    app, client, person = portal
    client.get("/language?to=cy&next=/")
    page = client.get("/survey")
    bad = client.post("/survey", data={"csrf_token": csrf(page.text), "aspirations": "x",
                                       "travel_radius_miles": "lots", "sort_code": "1", "account_number": "1"})
    assert bad.status_code == 400 and "<title>Gwall: " in bad.text
    assert '<span class="govuk-visually-hidden">Gwall:</span>' in bad.text
    assert "Rhowch god didoli dilys" in bad.text and "Rhowch dewiswch" not in bad.text


def test_the_home_page_is_a_task_list_with_dates(portal):
    app, client, person = portal
    home = client.get("/").text
    assert "Northfield told us your job ended on 2 January 2026." in home
    assert re.search(r'id="task-notice".*?Read your notice of assistance \(sent 5 January 2026\).*?Not yet started',
                     home, re.S)
    assert re.search(r'id="task-survey".*?Answer a few questions, by 19 January 2026', home, re.S)
    assert re.search(r'id="task-benefit"', home)
    assert "1 unread" in home
    notice = re.search(r'href="(/inbox/[^"]+)"', home.split('id="task-notice"')[1]).group(1)
    client.get(notice)
    home = client.get("/").text
    assert re.search(r'id="task-notice".*?Completed', home, re.S) and "unread" not in home
    client.get("/language?to=cy&next=/")
    assert "Dywedodd Northfield wrthym fod eich swydd wedi dod i ben ar 2 Ionawr 2026." in client.get("/").text


def test_lost_and_broken_pages_are_pages_and_the_api_keeps_problem_json(portal):
    app, client, person = portal
    lost = client.get("/no-such-page")
    assert lost.status_code == 404 and lost.headers["content-type"].startswith("text/html")
    assert '<html lang="en"' in lost.text and "<title>Page not found - " in lost.text
    api = client.get("/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    broken = client.get("/broken")
    assert broken.status_code == 500 and "Sorry, there is a problem with the service" in broken.text
    assert '<html lang="en"' in broken.text
    assert client.get("/v1/broken").headers["content-type"] == "application/problem+json"
    client.get("/language?to=cy&next=/")
    lost = client.get("/no-such-page")
    assert '<html lang="cy"' in lost.text and "Heb ddod o hyd i'r dudalen" in html.unescape(lost.text)


def test_signing_in_remembers_the_page_that_asked_and_only_this_sites(portal):
    app, client, person = portal
    client.cookies.clear()
    asked = client.get("/survey?change=aspirations", follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/sign-in"
    token = client.cookies.get("civic_session")
    kept = app.sessions.load(hashlib.sha256(token.encode()).hexdigest(), app.clock.now())
    assert kept["next"] == "/survey?change=aspirations"  # the callback sends the person back there
    assert [_local(x) for x in ("/plan", "//evil.example", "/\\evil.example", "https://evil.example", None)] == \
        ["/plan", "/", "/", "/", "/"]


def test_contact_accessibility_privacy_and_a_brand_off_govuk(portal):
    app, client, person = portal
    home = client.get("/").text
    assert 'id="sign-out"' in home.split("</header>")[0]  # sign out in the header
    assert 'id="language-switch"' in home.split("</header>")[0] and 'lang="cy"' in home
    assert "govuk-icon" not in home and "favicon" not in home  # no Crown
    contact = client.get("/contact").text
    assert "0808 157 0192" in contact and "Monday to Friday, 8am to 6pm" in contact
    assert "Accessibility statement" in client.get("/accessibility").text
    privacy = client.get("/privacy").text
    for part in ("What we hold", "Why we hold it", "How long we keep it", "Who it goes to"):
        assert part in privacy
    css = client.get("/portal-assets/portal.css")
    if css.text:  # GOV.UK Frontend is installed (npm ci)
        assert "GDS Transport" not in css.text and "@font-face" not in css.text and "arial" in css.text
    assert "data-warn-before" in home and "You will be signed out soon" in home


def test_who_saw_my_data_says_what_the_employer_reported(portal):
    app, client, person = portal
    seen = html.unescape(client.get("/access").text)
    assert re.search(r"Northfield told us your [^.<]*last day of work", seen)
    assert "HMRC told us your" in seen and "given name" in seen
