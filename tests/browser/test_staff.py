"""The staff console in real Chromium, with axe-core on every screen and screenshots in
tests/artifacts/screenshots/staff/.

The whole loop: a person is refused by the rules; a decision maker signs in as themselves,
finds the case in their queue, reads the decision with its inputs and the law, and overturns
it; the journey awards the benefit; the person sees the award in the portal and in a message,
and the decision maker's view in "Who saw my data".
"""

from __future__ import annotations

import re
import time

import pytest

from ..e2e.staff import start
from .test_portal import SHOTS, browser, check  # noqa: F401 - the portal's Chromium and axe-core check

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    (SHOTS / "staff").mkdir(parents=True, exist_ok=True)
    c = start(tmp_path_factory.mktemp("staff-browser"), seed=_seed)
    yield c
    c.stop()


def _seed(app) -> dict:
    """Ola, who is not online: a work coach is to call her. Metro Transit may see a person's name
    for a fare dispute; Pia disputes a fare."""
    ola = app.registry.add_person()
    app.registry.record(None, ola, [{"attribute": "given_name", "value": "Ola"},
                                    {"attribute": "family_name", "value": "Phone"}])
    pia = app.registry.add_person()
    app.registry.record(None, pia, [{"attribute": "given_name", "value": "Pia"},
                                    {"attribute": "family_name", "value": "Fares"},
                                    {"attribute": "date_of_birth", "value": "1990-02-03"}])
    app.agreements.put("metro-fare-disputes", "Metro Transit", "fare-concession", ["given_name", "family_name"],
                       "identified", 30)
    sid = app.registry.add_person()  # gets New Style JSA; his employer reports a new job
    app.registry.record(None, sid, [{"attribute": "given_name", "value": "Sid"},
                                    {"attribute": "family_name", "value": "Stopped"},
                                    {"attribute": "employer", "value": "Northfield"},
                                    {"attribute": "jsa_claimant", "value": True}])
    bea = app.registry.add_person()  # changed her bank details a few days before a payment: held for a check
    app.registry.record(None, bea, [{"attribute": "given_name", "value": "Bea"},
                                    {"attribute": "family_name", "value": "Banks"},
                                    {"attribute": "date_of_birth", "value": "1980-01-01"},
                                    {"attribute": "bank_account", "value": "20-00-00 55779911"},
                                    {"attribute": "email", "value": "bea.banks@example.org"}])
    app.payments.award(bea, "jsa-new-style", "bea-award", start=app.clock.now().date())
    change = app.payments.request_bank_change(bea, "20-00-00", "55779944")
    (sent,) = [m for m in app.messenger.of_person(bea, reveal=True) if m["template"] == "bank-details-code"]
    app.payments.confirm_bank_change(bea, change["id"], sent["content"]["long"].split("enter this code: ")[1][:6])
    (check,) = app.cases.list(queue="verification", person=bea)
    return {"bea_check": check.id, "sid": sid, "ola": ola, "ola_case": app.cases.open("work-coach", ola, "Not online: call to agree a plan").id,
            "pia": pia, "pia_case": app.cases.open("work-coach", pia, "Says she was charged a full fare").id}


def until(page, url: str, selector: str, timeout: float = 60) -> None:
    """Reload `url` until `selector` is on the page: the engine works in the background."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if page.locator(selector).count():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} never appeared on {url}")
        time.sleep(0.5)


def sign_in_officer(page, url: str, name: str) -> None:
    page.goto(f"{url}/staff")
    page.get_by_role("button", name="Sign in").click()
    page.locator("button", has_text=name).click()
    page.wait_for_url(f"{url}/staff/queues")


def test_the_whole_loop_a_refusal_is_overturned_and_the_person_sees_it(console, browser):  # noqa: F811
    url = console.url
    pid = console.person("Bea Refused", class1_earnings_year_before_pence=100_000)
    console.redundancy(pid)

    officer = browser.new_context().new_page()
    officer.goto(f"{url}/staff")
    check(officer, "staff/start")
    sign_in_officer(officer, url, "Dev Decider")
    assert "Dev Decider" in officer.inner_text("#officer-identity")
    assert "Decision maker" in officer.inner_text("#officer-identity")
    check(officer, "staff/queues")

    until(officer, f"{url}/staff/queues/decision-review", "#cases a")
    check(officer, "staff/queue-decision-review")
    officer.locator("#cases a").first.click()
    assert officer.inner_text("#person-name") == "Bea Refused"
    assert "Jobseekers Act 1995" in officer.inner_text("#explanation")
    inputs = officer.inner_text("#decision-inputs")
    assert "Class1 earnings year before\t£1,000.00\tHMRC\tGOLD" in inputs
    check(officer, "staff/case-decision-review")

    officer.get_by_role("button", name="Assign to me").click()
    assert officer.inner_text("#case-assignee") == "Dev Decider"
    officer.get_by_label("Overturn the decision").check()
    officer.get_by_label("Reason (the person is told this)").fill(
        "The contribution record for the year before is incomplete; HMRC's corrected record meets the condition.")
    officer.get_by_role("button", name="Record the outcome").click()
    assert officer.inner_text("#case-status").lower() == "resolved"
    assert "Overturn the decision" in officer.inner_text("#timeline")
    check(officer, "staff/case-resolved")

    person = browser.new_context().new_page()
    person.goto(f"{url}/sign-in")
    person.locator("button", has_text="Bea Refused").click()
    person.wait_for_url(f"{url}/")
    until(person, f"{url}/plan", "text=awarded. A decision maker looked at our decision again")
    until(person, f"{url}/inbox", "text=You can get New Style Jobseeker's Allowance")
    person.get_by_text("You can get New Style Jobseeker's Allowance").first.click()
    assert "HMRC's corrected record meets the condition" in person.inner_text("main")
    person.goto(f"{url}/access")
    log = person.inner_text("#access-log")
    assert re.search(r"A decision maker at (the )?employment department viewed your profile", log), log
    check(person, "staff/portal-access-after-review")


def test_a_reconsideration_in_two_clicks_is_decided_by_a_different_officer(console, browser):  # noqa: F811
    url = console.url
    pid = console.person("Cal Upheld", class1_earnings_year_before_pence=100_000)
    console.redundancy(pid)

    first = browser.new_context().new_page()
    sign_in_officer(first, url, "Dev Decider")
    until(first, f"{url}/staff/queues/decision-review", "#cases a")
    first.locator("#cases a").first.click()
    first.get_by_label("Uphold the decision").check()
    first.get_by_label("Reason (the person is told this)").fill("HMRC's record shows too few contributions.")
    first.get_by_role("button", name="Record the outcome").click()
    assert first.inner_text("#case-status").lower() == "resolved"

    person = browser.new_context().new_page()
    person.goto(f"{url}/sign-in")
    person.locator("button", has_text="Cal Upheld").click()
    person.wait_for_url(f"{url}/")
    until(person, f"{url}/decisions", "text=Ask for it to be looked at again")
    assert "too few contributions" in person.inner_text("#review")
    check(person, "staff/portal-decisions")
    person.get_by_role("button", name="Ask for it to be looked at again").click()  # click 1
    check(person, "staff/portal-reconsider")
    person.get_by_role("button", name="Send my request").click()  # click 2
    assert "A different decision maker will look at the decision again" in person.inner_text("main")

    until(first, f"{url}/staff/queues/mandatory-reconsideration", "#cases a")
    first.locator("#cases a").first.click()
    assert "You made the first review" in first.inner_text("#first-review")
    first.get_by_label("Uphold the decision").check()
    first.get_by_label("Reason (the person is told this)").fill("I agree with myself.")
    first.get_by_role("button", name="Record the outcome").click()
    assert "different" in first.inner_text(".govuk-error-summary").lower()  # refused: not the first reviewer

    second = browser.new_context().new_page()
    sign_in_officer(second, url, "Dana Second")
    until(second, f"{url}/staff/queues/mandatory-reconsideration", "#cases a")
    second.locator("#cases a").first.click()
    assert "Jobseekers Act 1995" in second.inner_text("#explanation")
    check(second, "staff/case-reconsideration")
    second.get_by_label("Uphold the decision").check()
    second.get_by_label("Reason (the person is told this)").fill(
        "Checked again with HMRC: the contribution condition for the year before is not met.")
    second.get_by_role("button", name="Record the outcome").click()
    assert second.inner_text("#case-status").lower() == "resolved"
    second.get_by_role("button", name="Record the appeal").click()  # nothing filled in: said at the top
    assert "Select how the appeal reached us" in second.inner_text(".govuk-error-summary")
    check(second, "staff/case-appeal-errors")

    until(person, f"{url}/decisions", "#appeal")
    assert "contribution condition for the year before is not met" in person.inner_text("#reconsideration")
    assert "First-tier Tribunal" in person.inner_text("#appeal")
    check(person, "staff/portal-decisions-after-reconsideration")
    until(person, f"{url}/inbox", "text=Your mandatory reconsideration about")
    person.get_by_text("Your mandatory reconsideration about").first.click()
    notice = person.inner_text("main")
    assert "contribution condition for the year before is not met" in notice
    assert re.search(r"appeal must arrive by \w+ \d+ \w+ \d{4}|must arrive by \d+ \w+ \d{4}", notice), notice


def test_a_work_coachs_day_caseload_single_view_a_phone_contact_with_consent_and_a_job(console, browser):  # noqa: F811
    url = console.url
    coach = browser.new_context().new_page()
    sign_in_officer(coach, url, "Wanda Coach")
    coach.goto(f"{url}/staff/cases/{console.seeded['ola_case']}")
    coach.get_by_role("button", name="Assign to me").click()
    coach.get_by_role("link", name="My caseload").click()
    assert "Not online: call to agree a plan" in coach.inner_text("#cases")
    check(coach, "staff/caseload")
    coach.locator("#cases a").first.click()
    coach.get_by_role("link", name="Single view").click()
    assert coach.inner_text("#person-name") == "Ola Phone"
    assert "Given name" in coach.inner_text("#facts-table")
    check(coach, "staff/single-view")

    coach.get_by_label("Phone call").check()
    coach.get_by_label("What you talked about").fill("Agreed to look for warehouse work within 5 miles.")
    coach.get_by_label("Consent the person gave you").select_option("employment-support")
    coach.get_by_role("button", name="Record the contact").click()
    consents = coach.inner_text("#consents-list")
    assert "given, assisted" in consents, consents

    coach.get_by_label("Job title").fill("Warehouse operative")
    coach.get_by_label("Employer").fill("Aire Logistics")
    coach.get_by_label("Details for the person").fill("Days only, 4 miles away, starts in December.")
    coach.get_by_role("button", name="Send the job").click()
    assert "job from work coach" in coach.inner_text("#messages-table")
    coach.goto(f"{url}/staff/cases/{console.seeded['ola_case']}")
    timeline = coach.inner_text("#timeline")
    assert "Phone call: Agreed to look for warehouse work" in timeline
    assert "Consent given by the person, phone call" in timeline
    assert "Sent a job: Warehouse operative at Aire Logistics" in timeline

    person = browser.new_context().new_page()
    person.goto(f"{url}/sign-in")
    person.locator("button", has_text="Ola Phone").click()
    person.wait_for_url(f"{url}/")
    until(person, f"{url}/inbox", "text=A job for you: Warehouse operative at Aire Logistics")
    person.goto(f"{url}/access")
    assert re.search(r"A work coach at (the )?employment department viewed your profile", person.inner_text("#access-log"))
    person.goto(f"{url}/consents")
    check(person, "staff/portal-consents-after-phone")


def test_a_correction_with_a_document_an_assisted_commitment_and_a_partner_agencys_view(console, browser):  # noqa: F811
    url = console.url
    person = browser.new_context().new_page()
    person.goto(f"{url}/sign-in")
    person.locator("button", has_text="Ola Phone").click()
    person.wait_for_url(f"{url}/")
    person.goto(f"{url}/data/correct/family_name")
    person.fill("#details", "My surname is Fone, not Phone")
    person.get_by_role("button", name="Continue").click()
    assert "An officer will check it" in person.inner_text("main")

    coach = browser.new_context().new_page()
    sign_in_officer(coach, url, "Wanda Coach")
    until(coach, f"{url}/staff/queues/correction", "#cases a")
    correction = coach.locator("#cases a").first.get_attribute("href")

    person.goto(f"{url}/evidence")
    person.locator(f'a[href="/evidence/{correction.rsplit("/", 1)[1]}"]').click()
    check(person, "staff/portal-evidence")
    person.get_by_role("button", name="Send the document").click()  # no file chosen
    assert "Select a file" in person.inner_text(".govuk-error-summary")
    check(person, "staff/portal-evidence-error")
    person.set_input_files("#document", files=[{"name": "deed-poll.pdf", "mimeType": "application/pdf",
                                                "buffer": b"%PDF-1.7\n%deed poll\n%%EOF\n"}])
    person.get_by_role("button", name="Send the document").click()
    assert "We have your document" in person.inner_text("main")

    coach.goto(f"{url}{correction}")
    assert "My surname is Fone" in coach.inner_text("#correction-request")
    assert "deed-poll.pdf" in coach.inner_text("#evidence")
    check(coach, "staff/case-correction")
    coach.get_by_label("Accept the correction").check()
    coach.get_by_label("The right value (if you accept)").fill("Fone")
    coach.get_by_label("What you checked (if you accept)").fill("Deed poll sent with the request")
    coach.get_by_label("Reason (the person is told this)").fill("Your deed poll shows Fone")
    coach.get_by_role("button", name="Record the outcome").click()
    assert coach.inner_text("#case-status").lower() == "resolved"

    coach.goto(f"{url}/staff/people/{console.seeded['ola']}")
    coach.fill("#commitment-actions", "Apply for two warehouse jobs a week; visit the job centre on Mondays")
    coach.fill("#commitment-hours", "30")
    coach.check("#commitment-agreed")
    coach.check("#how-commitment-phone")
    coach.get_by_role("button", name="Record the commitment").click()
    assert "Apply for two warehouse jobs" in coach.inner_text("#commitment-current")
    coach.get_by_role("button", name="Save contact details").click()  # nothing given: said at the top
    assert "Enter a phone number or an email address" in coach.inner_text(".govuk-error-summary")
    check(coach, "staff/single-view-assisted-errors")
    coach.goto(f"{url}/staff/people/{console.seeded['ola']}/survey")
    check(coach, "staff/survey")

    until(person, f"{url}/commitment", "#commitment")
    assert "Apply for two warehouse jobs" in person.inner_text("#commitment")
    check(person, "staff/portal-commitment")

    coach.goto(f"{url}/staff/cases/{console.seeded['pia_case']}")
    coach.locator("#refer-details summary").click()
    coach.select_option("#to_queue", "fare-dispute")
    coach.fill("#refer-note", "Charged a full fare on the 6th")
    coach.get_by_role("button", name="Refer", exact=True).click()
    partner = browser.new_context().new_page()
    sign_in_officer(partner, url, "Pat Metro")
    partner.goto(f"{url}/staff/people/{console.seeded['pia']}")
    assert "Pia" in partner.inner_text("#facts-table") and "1990" not in partner.inner_text("main")
    assert partner.locator("#agreement-only").count() == 1 and partner.locator("#journeys").count() == 0
    check(partner, "staff/single-view-partner")


def test_a_stopped_benefit_is_on_your_decisions_with_the_link_to_ask_again(console, browser):  # noqa: F811
    """The stop message points to "Your decisions": the stop is there with the decision maker's reason,
    and asking again from it sends the request, in English and Welsh."""
    import httpx

    url, sid = console.url, console.seeded["sid"]
    httpx.post(f"{url}/v1/events", json={
        "specversion": "1.0", "type": "uk.gov.dwp.employment.job-started", "source": "https://northfield.example/hr",
        "id": f"S-{sid}", "subject": sid, "data": {"start_date": "2026-12-01"}}, headers={
        "Authorization": f"Bearer {console.tokens['Northfield']}",
        "Content-Type": "application/cloudevents+json"}).raise_for_status()
    dev = {"Authorization": f"Bearer {console.officer_tokens['demo-decision-maker']}"}
    deadline = time.monotonic() + 60
    while not (cases := httpx.get(f"{url}/v1/cases", params={"person": sid, "queue": "decision-review"},
                                  headers=dev).json()["items"]):
        assert time.monotonic() < deadline, "no review opened"
        time.sleep(0.5)
    (case,) = cases
    httpx.post(f"{url}/v1/cases/{case['id']}/resolve", headers=dev, json={
        "outcome": "upheld", "reason": "Payroll shows the new job from 1 December.",
        "version": case["version"]}).raise_for_status()

    person = browser.new_context().new_page()
    person.goto(f"{url}/sign-in")
    person.locator("button", has_text="Sid Stopped").click()
    person.wait_for_url(f"{url}/")
    until(person, f"{url}/decisions", "#ask")
    assert "Stopped from 1 December 2026" in person.inner_text("#decision")
    assert "Payroll shows the new job" in person.inner_text("#review")
    check(person, "staff/portal-decisions-stop-en")
    person.goto(f"{url}/language?to=cy&next=/decisions")
    assert "Daeth i ben o 1 Rhagfyr 2026" in person.inner_text("#decision")
    check(person, "staff/portal-decisions-stop-cy")
    person.goto(f"{url}/language?to=en&next=/decisions")
    person.locator("#ask").click()
    person.get_by_role("button", name="Send my request").click()
    assert "A different decision maker will look at the decision again" in person.inner_text("main")
    until(person, f"{url}/decisions", "#reconsideration")
    assert person.locator("#ask").count() == 0
    person.context.close()


def test_the_officer_checking_a_bank_change_sees_its_last_digits_where_the_code_went_and_when(console, browser):  # noqa: F811
    page = browser.new_context().new_page()
    sign_in_officer(page, console.url, "Dev Decider")
    page.goto(f"{console.url}/staff/cases/{console.seeded['bea_check']}")
    assert page.inner_text("#bank-change-account") == "Ending 9944"
    assert page.inner_text("#bank-change-code") == "By email to b…@example.org"
    assert re.fullmatch(r"\w+day \d{1,2} \w+ \d{4}, \d{1,2}(:\d\d)?[ap]m", page.inner_text("#bank-change-at"))
    assert "55779944" not in page.content() and "bea.banks@" not in page.content()
    check(page, "staff/case-bank-change")
    page.context.close()
