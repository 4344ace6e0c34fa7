""""Your payments" in real Chromium with axe-core, in English and Welsh: Abe's zero-touch award of New
Style JSA (every fact from a register, his account already held), its next payment and its rate; and the
change of bank details: the form, its errors and the code page."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import httpx
import pytest

from ..conftest import service_missing
from ..e2e.conftest import CIVIC, civic_env, free_port, wait_for
from .test_portal import AXE, ROOT, _up, browser, check, code_providers, sign_in  # noqa: F401 - the browser fixture

TODAY = "2026-11-30"


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    if not AXE.exists():
        service_missing("axe-core (npm ci)")
    tmp: Path = tmp_path_factory.mktemp("payments-portal")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    providers = contextlib.ExitStack()
    env = civic_env(tmp, CIVIC_PORT=str(port), CIVIC_PUBLIC_URL=url, CIVIC_DEMO_MODE="true",
                    CIVIC_NOW=f"{TODAY}T09:00:00Z", CIVIC_SESSION_SECRET="payments-test-secret",
                    **providers.enter_context(code_providers()))
    tokens = {}
    for name, source, scopes in [("Northfield", "https://northfield.example/*", ["uk.gov.dwp.employment.*"]),
                                 ("HMRC", "https://hmrc.example/*", ["people:write", "facts:*"])]:
        args = [a for s in scopes for a in ("--scope", s)]
        out = subprocess.run([*CIVIC, "orgs", "add", name, "--source", source, *args, "--json"], env=env,
                             capture_output=True, text=True, check=True)
        tokens[name] = json.loads(out.stdout)["token"]
    proc = subprocess.Popen([*CIVIC, "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for(lambda: _up(url), timeout=90)
    hmrc = {"Authorization": f"Bearer {tokens['HMRC']}"}
    abe = httpx.post(f"{url}/v1/people", json={}, headers=hmrc).json()["id"]
    facts = {"given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1981-03-14", "home_area": "Leeds",
             "employment_status": "unemployed", "employer": "Northfield", "bank_account": "20-00-00 55779911",
             "phone": "07811 123456",
             "class1_earnings_last_year_pence": 3_100_000, "class1_earnings_year_before_pence": 2_950_000}
    httpx.post(f"{url}/v1/people/{abe}/facts", headers=hmrc,
               json=[{"attribute": k, "value": v} for k, v in facts.items()]).raise_for_status()
    event = {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": "https://northfield.example/hr",
             "id": "N-abe", "subject": abe, "data": {"reason": "redundancy", "last_day": "2026-11-27", "age": 45}}
    httpx.post(f"{url}/v1/events", json=event, headers={"Authorization": f"Bearer {tokens['Northfield']}",
                                                        "Content-Type": "application/cloudevents+json"})
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    providers.close()


def test_your_payments_in_english_and_welsh_passes_axe(portal, browser):  # noqa: F811
    page = browser.new_page()
    sign_in(page, portal)
    wait_for(lambda: page.goto(portal + "/payments") and "a week" in page.inner_text("main"), timeout=90)
    main = page.inner_text("main")
    assert "£95.55 a week" in main and "£191.10 on 14 December 2026" in main
    assert "If a payment is missing" in main and "55779911" not in page.content()
    check(page, "payments-en")
    page.goto(f"{portal}/language?to=cy&next=/payments")
    assert page.get_attribute("html", "lang") == "cy"
    main = page.inner_text("main")
    assert "Eich taliadau" in main and "£95.55 yr wythnos" in main
    check(page, "payments-cy")


def test_changing_bank_details_pages_pass_axe_in_english_and_welsh(portal, browser):  # noqa: F811
    page = browser.new_page()
    sign_in(page, portal)
    words = {"en": ("Change bank details", "Change your bank details", "Enter a valid sort code",
                    "Send the code", "ending 456", "Confirm", "The code is not right"),
             "cy": ("Newid manylion banc", "Newid eich manylion banc", "Rhowch god didoli dilys",
                    "Anfon y cod", "gorffen gyda 456", "Cadarnhau", "Nid yw'r cod yn gywir")}
    for lang, (link, title, bad_sort, send, held, confirm, bad_code) in words.items():
        page.goto(f"{portal}/language?to={lang}&next=/payments")
        wait_for(lambda: page.goto(portal + "/payments") and page.locator(
            "a[href='/payments/bank-details']").count() > 0, timeout=90)
        page.get_by_role("link", name=link).click()
        page.wait_for_url(portal + "/payments/bank-details")
        assert page.inner_text("h1").strip() == title and page.get_attribute("html", "lang") == lang
        check(page, f"bank-details-{lang}")
        page.fill("#account_name", "Abe Ashworth")
        page.fill("#sort_code", "20 00")
        page.fill("#account_number", "55779944")
        page.get_by_role("button", name=send).click()
        assert bad_sort in page.inner_text(".govuk-error-summary")
        check(page, f"bank-details-error-{lang}")
        page.locator(".govuk-error-summary a").first.click()  # the error's link puts focus on the field
        assert page.evaluate("document.activeElement.id") == "sort_code"
        page.fill("#sort_code", "20-00-00")
        page.get_by_role("button", name=send).click()
        page.wait_for_url(portal + "/payments/bank-details/code")
        assert held in page.inner_text("main")  # the number already held, masked
        check(page, f"bank-details-code-{lang}")
        page.fill("#code", "000000" if lang == "en" else "999999")  # one chance in a million of being right
        page.get_by_role("button", name=confirm).click()
        assert bad_code in page.inner_text(".govuk-error-summary")
        check(page, f"bank-details-code-error-{lang}")
    page.goto(f"{portal}/language?to=en&next=/")
    page.close()
