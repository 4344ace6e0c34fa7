"""The insights pages in real Chromium as a policy lead: axe-core finds nothing on any of them,
and each is kept as a screenshot in tests/artifacts/screenshots/staff/."""

from __future__ import annotations

import httpx
import pytest

from ..e2e.staff import sign_in, start
from .test_portal import SHOTS, browser, check  # noqa: F401 - the portal's Chromium and axe-core check
from .test_staff import sign_in_officer

pytestmark = pytest.mark.browser
PEOPLE = [f"w{i:02d}" for i in range(14)]


def _seed(app) -> dict:
    from ..integration.test_engine_flow import employer_of, job_ended

    employer = employer_of(app, *PEOPLE)
    app.intake.submit(employer, [job_ended(p, f"insights-{p}") for p in PEOPLE])
    app.worker.drain()
    return {}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    (SHOTS / "staff").mkdir(parents=True, exist_ok=True)
    c = start(tmp_path_factory.mktemp("insights-browser"), seed=_seed)
    yield c
    c.stop()


def test_a_policy_lead_reads_each_area_with_its_chart_table_and_words(console, browser):  # noqa: F811
    url = console.url
    page = browser.new_page()
    sign_in_officer(page, url, "Polly Policy")
    page.get_by_role("link", name="Insights").click()
    page.wait_for_url(f"{url}/staff/insights")
    assert "14 journeys" in page.locator("main").inner_text()
    check(page, "staff/insights-summary")
    page.get_by_role("link", name="See impact for Back to work after a redundancy").click()
    assert page.locator("#chart svg").count() == 1  # drawn on the server
    assert "Share who reached the objective" in page.locator("figcaption").inner_text()
    assert page.locator("#measures").inner_text().count("Journeys started") == 1
    check(page, "staff/insights-impact")
    page.select_option("#group", "online")
    page.get_by_role("button", name="Apply filters").click()
    assert page.locator("#measures th", has_text="online").count() == 1
    check(page, "staff/insights-impact-online")
    for area in ("experience", "efficiency", "trust", "take_up"):
        page.goto(f"{url}/staff/insights/job-loss/{area}")
        check(page, f"staff/insights-{area}")
    assert "Questions asked per person" in page.goto(f"{url}/staff/insights/job-loss/experience").text()
    page.goto(f"{url}/staff/insights/job-loss/impact?start=2027-01-01")
    assert "No journeys of this moment started in this period" in page.locator("#empty").inner_text()
    check(page, "staff/insights-empty-period")
    page.goto(f"{url}/staff/insights/job-loss/impact?version=v9")
    assert page.locator(".govuk-error-summary").count() == 1
    check(page, "staff/insights-unknown-version")
    page.goto(f"{url}/staff/insights/job-loss/compare")
    assert page.locator("#comparison").count() == 1
    check(page, "staff/insights-compare")
    page.close()


def test_the_csv_export_holds_the_measures_and_other_roles_are_refused(console):
    policy = sign_in(console.url, "demo-policy")
    csv = policy.get("/staff/insights/job-loss/export.csv", params={"group": "online"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "job-loss,all,online,online,experience,questions_per_person,4" in csv.text
    coach = sign_in(console.url, "demo-work-coach")
    assert coach.get("/staff/insights").status_code == 403
    assert "Insights" not in coach.get("/staff/queues").text
    assert httpx.get(f"{console.url}/staff/insights", follow_redirects=False).status_code == 303
