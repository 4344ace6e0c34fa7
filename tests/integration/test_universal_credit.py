"""Universal Credit as a screened service: told to the people it may help, never called an award."""

from __future__ import annotations

from datetime import date

import pytest

from civicmoments.packs import PackError
from civicmoments.rules.catalogue import load_catalogue

from ..conftest import UK_PACK

ON = date(2026, 11, 29)


def _person(app, org, **facts):
    pid = app.registry.add_person()
    app.registry.record(org, pid, [{"attribute": k, "value": v} for k, v in facts.items()])
    return pid


def _uc(app, pid):
    found = app.services.for_person(pid, ON, include_not_eligible=True)
    now = {e["service"]: e for e in found["eligible"]}
    return now.get("universal-credit"), found


def test_offered_to_someone_out_of_work_with_the_2026_27_allowance_and_a_link(app):
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    pid = _person(app, hmrc, date_of_birth="1984-05-02", employment_status="unemployed",
                  class1_earnings_last_year_pence=3_100_000, class1_earnings_year_before_pence=2_950_000)
    uc, found = _uc(app, pid)
    rate = app.rules.tbs.parameters(ON.isoformat()).universal_credit.standard_allowance.single_25_or_over
    assert uc is not None and uc["amount"] == pytest.approx(rate) and uc["per"] == "month"
    assert rate == pytest.approx(424.90)
    assert uc["screener"] is True and uc["apply"] == "https://www.gov.uk/apply-universal-credit"
    assert "This is a check, not an award" in uc["description"]
    assert [e["service"] for e in found["eligible"]][0] == "jsa-new-style"  # an award ranks above a check
    d = app.services.explain(pid, "universal-credit", ON)
    assert "GOV.UK, Benefit and pension rates 2026 to 2027" in d.references


def test_not_offered_in_work_with_savings_over_the_limit_or_over_pension_age(app):
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    working = _person(app, hmrc, date_of_birth="1984-05-02", employment_status="employed")
    saver = _person(app, hmrc, date_of_birth="1984-05-02", employment_status="unemployed", savings_pence=1_600_000)
    pensioner = _person(app, hmrc, date_of_birth="1955-01-01", employment_status="unemployed")
    for pid in (working, saver, pensioner):
        uc, found = _uc(app, pid)
        assert uc is None
        assert "universal-credit" in {e["service"] for e in found["not_eligible"]}
    just_under = _person(app, hmrc, date_of_birth="1984-05-02", employment_status="unemployed",
                         savings_pence=1_599_999)
    assert _uc(app, just_under)[0] is not None


def test_a_screener_cannot_be_automatic_and_its_link_is_https(tmp_path, app):
    text = (UK_PACK / "services.yaml").read_text()
    for broken, words in (
            (text.replace("    delivery: inform\n    screener: true", "    delivery: automatic\n    screener: true"),
             "a screener is never an award"),
            (text.replace("apply: https://www.gov.uk/apply-universal-credit", "apply: gov.uk/apply"),
             "apply is an https:// address")):
        file = tmp_path / "services.yaml"
        file.write_text(broken)
        with pytest.raises(PackError, match=words) as caught:
            load_catalogue(file, app.rules.tbs.variables, app.pack.attributes)
        assert caught.value.line is not None


def test_the_job_loss_notice_mentions_universal_credit_only_when_screened(app):
    template = app.pack.templates["notice-of-assistance"]
    base = {"eligible": True, "awarded": True, "weekly_amount": 95.55, "jobs": [], "undecided": False, "answer_within_days": 14, "name": "Abe", "full_name": "Abe Ashworth",
            "portal_url": "https://portal.example", "today": "2026-11-29",
            "first_payment_pence": 0, "first_payment_date": "", "account_last4": ""}
    told = template.render("en", {**base, "universal_credit": True, "universal_credit_monthly": 424.90})
    assert "You may also be able to get Universal Credit" in told.long
    assert "£424.90 a month" in told.long and "This is a check, not an award" in told.long
    assert "https://www.gov.uk/apply-universal-credit" in told.long
    cy = template.render("cy", {**base, "universal_credit": True, "universal_credit_monthly": 424.90})
    assert "Credyd Cynhwysol" in cy.long and "£424.90 y mis" in cy.long
    quiet = template.render("en", {**base, "universal_credit": False, "universal_credit_monthly": 0.0})
    assert "Universal Credit" not in quiet.long
