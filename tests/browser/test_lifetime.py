"""The lifetime pages in real Chromium with axe-core, in English and Welsh: the offers page, and
moving home before, with a broken postcode named at the top and by its field, and after."""

from __future__ import annotations

import pytest

from .test_portal import browser, check, portal, sign_in  # noqa: F401 - the portal's fixtures, reused

pytestmark = pytest.mark.browser


def test_the_lifetime_pages_pass_axe_in_english_and_welsh(portal, browser):  # noqa: F811
    page = browser.new_page()
    sign_in(page, portal)
    words = {"en": ("Offers for you", "Enter a real postcode", "We are telling them"),
             "cy": ("Cynigion i chi", "Rhowch god post go iawn", "Rydym yn dweud wrthynt")}
    for lang, (title, bad_postcode, done) in words.items():
        page.goto(f"{portal}/language?to={lang}&next=/")
        page.goto(portal + "/lifetime")
        assert page.get_by_role("heading", level=1).inner_text() == title
        check(page, f"lifetime-{lang}")
        page.goto(portal + "/lifetime/move")
        check(page, f"lifetime-move-{lang}")
        page.fill("#address_line_1", "4 Hyde Park Road")
        page.fill("#town", "Leeds")
        page.fill("#postcode", "LS6 2A")
        page.fill("#moved-day", "25")
        page.fill("#moved-month", "11")
        page.fill("#moved-year", "2026")
        page.locator("form[action='/lifetime/move'] button").click()
        assert bad_postcode in page.inner_text(".govuk-error-summary")
        assert page.input_value("#postcode") == "LS6 2A" and page.title().startswith(("Error: ", "Gwall: "))
        check(page, f"lifetime-move-errors-{lang}")
        page.fill("#postcode", "LS6 2AB")
        page.locator("form[action='/lifetime/move'] button").click()
        assert done in page.inner_text("main")
        check(page, f"lifetime-move-done-{lang}")
