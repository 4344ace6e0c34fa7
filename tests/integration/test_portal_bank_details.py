"""A change of bank details in the portal, through the HTTP boundary: the form checks the details as the
survey does (format, then Vocalink's modulus check), a code goes by text to the mobile number already held
(a Notify-like SMS API), never to anything given with the change; the right code in time changes the
account, holds the next payment for a check (a case in the verification queue), tells the person, and the
held payment is left out of the payment run's pain.001 file. A returned payment points the person here and
is paid again once the new details are confirmed."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from civicmoments.adapters.payments import pain001
from civicmoments.api.app import create_app
from civicmoments.domain.clock import FakeClock
from civicmoments.domain.payments import end_to_end_id
from civicmoments.engine.steps import PLATFORM

from ..channels import NotifyLike
from ..conftest import make_app
from .test_interview_booking import signed_in
from .test_notifications import send, sms_provider
from .test_portal_contact import csrf, errors

SECRET = "portal-test-secret-" + "x" * 20
ACCOUNT = "20-00-00 55779911"
HELD_PHONE = "07811 123456"
CHANGE_DAY = datetime(2026, 4, 10, 9, 0, tzinfo=timezone.utc)  # ten days before the first payment
PERIOD = "2026-04-06/2026-04-19"


@pytest.fixture
def portal(db_url, tmp_path):
    sms = NotifyLike(201).start()
    clock = FakeClock(CHANGE_DAY)
    app = make_app(db_url, clock, settings={
        "session_secret": SECRET, "demo_mode": True, "letters_dir": tmp_path / "letters",
        "payments_dir": tmp_path / "out", "sms_providers": [sms_provider(sms)]})
    person = app.registry.add_person()
    app.registry.record_many(PLATFORM, [(person, [{"attribute": k, "value": v, "basis": "register", "tier": "gold"}
                                                  for k, v in {"given_name": "Abe", "family_name": "Ashworth",
                                                               "date_of_birth": "1980-01-01", "phone": HELD_PHONE,
                                                               "bank_account": ACCOUNT}.items()])])
    award = app.payments.award(person, "jsa-new-style", "portal-change", start=date(2026, 4, 6))
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        signed_in(app, client, person)
        yield app, client, person, award, sms, clock
    app.store.close()
    sms.stop()


def give(client, **fields: str):
    page = client.get("/payments/bank-details").text
    data = {"account_name": "Abe Ashworth", "sort_code": "20 00 00", "account_number": "55779944", **fields}
    return client.post("/payments/bank-details", data={"csrf_token": csrf(page), **data}, follow_redirects=False)


def enter(client, code: str):
    page = client.get("/payments/bank-details/code").text
    return client.post("/payments/bank-details/code", data={"csrf_token": csrf(page), "code": code},
                       follow_redirects=False)


def texted(app, sms) -> tuple[str, str]:
    send(app)
    sent = sms.received[-1]
    return sent["phone_number"], re.search(r"\b(\d{6})\b", sent["personalisation"]["body"]).group(1)


def account(app, person: str) -> str:
    return app.registry.profile(person, reveal=["bank_account"])["bank_account"].value


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_payments_page_links_to_the_change_and_the_form_checks_the_details(portal):
    app, client, person, *_ = portal
    page = client.get("/payments").text
    assert 'href="/payments/bank-details"' in page and "Change bank details" in page
    for fields, says in [({"sort_code": "20 00"}, "Enter a valid sort code like 20 00 00"),
                         ({"sort_code": "AB-CD-EF"}, "Enter a valid sort code like 20 00 00"),
                         ({"account_number": "123"}, "Enter a valid account number like 00733445"),
                         ({"account_number": "12345678"}, "they do not match a UK bank account"),
                         ({"account_name": "  "}, "Enter the name on the account")]:
        refused = give(client, **fields)
        assert refused.status_code == 400, fields
        assert any(says in e for e in errors(refused.text)), (fields, errors(refused.text))
        assert 'govuk-error-message' in refused.text  # the field says it too
    both = give(client, sort_code="1", account_number="x")
    assert errors(both.text) == ["Enter a valid sort code like 20 00 00", "Enter a valid account number like 00733445"]
    assert 'value="x"' in both.text  # what was typed is kept
    assert "bank-details-code" not in {m["template"] for m in app.messenger.of_person(person)}  # no code sent
    assert account(app, person) == ACCOUNT


def test_the_code_goes_to_the_number_held_and_the_right_code_changes_the_account_and_holds_the_next_payment(
        portal, tmp_path):
    app, client, person, award, sms, _ = portal
    moved = give(client)
    assert moved.status_code == 303 and moved.headers["location"] == "/payments/bank-details/code"
    page = text(client.get("/payments/bank-details/code").text)
    assert "mobile phone number ending 456 that we already hold" in page and "30 minutes" in page
    to, code = texted(app, sms)
    assert to == "+447811123456"  # the number already held
    assert "account ending 9944" in sms.received[-1]["personalisation"]["body"]
    assert code not in client.get("/inbox").text  # a code is read where it was sent

    wrong = enter(client, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 400 and errors(wrong.text) == ["The code is not right. Check the code and try again"]
    assert enter(client, "12ab").status_code == 400
    assert account(app, person) == ACCOUNT  # nothing changes before the right code

    done = enter(client, code)
    assert done.status_code == 303 and done.headers["location"] == "/payments"
    page = text(client.get("/payments").text)
    assert "Your bank details are changed to the account ending 9944. Your next payment is held" in page
    assert "Your next payment is held while a person checks that the change to your bank details was yours" in page
    assert account(app, person) == "20-00-00 55779944"
    assert app.registry.profile(person, reveal=["bank_account_name"])["bank_account_name"].value == "Abe Ashworth"
    (case,) = app.cases.list(queue="verification", person=person)
    assert "Bank details changed on 2026-04-10" in case.reason
    message = next(m for m in app.messenger.of_person(person, reveal=True) if m["template"] == "bank-details-changed")
    assert "is held while a person checks that the change was yours" in message["content"]["long"]
    assert "£191.10, due on 20 April 2026" in message["content"]["long"]
    inbox = client.get("/inbox").text
    assert "Your bank details have changed" in inbox

    # The payment run: the held payment is not in any file; another person's payment is
    cal = app.registry.add_person()
    app.registry.record_many(PLATFORM, [(cal, [{"attribute": k, "value": v, "basis": "register", "tier": "gold"}
                                               for k, v in {"date_of_birth": "1980-01-01",
                                                            "bank_account": ACCOUNT}.items()])])
    other = app.payments.award(cal, "jsa-new-style", "portal-other", start=date(2026, 4, 6))
    run = app.payments.run(date(2026, 4, 20))
    assert run["payments"] == 1
    sent = [tx["end_to_end"] for f in sorted((tmp_path / "out").glob("*.xml")) for tx in pain001.read(f)]
    assert sent == [end_to_end_id(other["id"], PERIOD, "regular")]
    assert end_to_end_id(award["id"], PERIOD, "regular") not in sent
    # the officer's check (resolving the verification case) releases it, and the next run pays it
    coach = app.officers.add("Wyn Coach", "sub-wyn", "employment-department", ["work-coach"])
    app.cases.resolve(case.id, coach, "verified", "Spoke to the person on the number we hold", case.version)
    held = [p for p in app.payments.store.payments_of(award=award["id"]) if p["status"] == "held"]
    assert held == []
    app.payments.run(date(2026, 4, 21))
    newest = max((tmp_path / "out").glob("*.xml"), key=lambda f: f.name)
    (tx,) = pain001.read(newest)
    assert (tx["end_to_end"], tx["account"], tx["sort_code"]) == (end_to_end_id(award["id"], PERIOD, "regular"),
                                                                  "55779944", "200000")


def test_an_expired_code_and_too_many_wrong_codes_change_nothing(portal):
    app, client, person, _, sms, clock = portal
    assert give(client).status_code == 303
    _, code = texted(app, sms)
    clock.advance(timedelta(minutes=31))
    expired = enter(client, code)
    assert expired.status_code == 400
    assert errors(expired.text) == ["The code has expired. Give your bank details again to get a new code"]
    assert account(app, person) == ACCOUNT

    assert give(client, account_number="55779944").status_code == 303  # a new code, a new change
    _, code = texted(app, sms)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        enter(client, wrong)
    locked = enter(client, code)  # even the right one, now
    assert errors(locked.text) == ["You have entered a wrong code too many times. Give your bank details again to "
                                   "get a new code"]
    assert account(app, person) == ACCOUNT
    assert not app.cases.list(queue="verification", person=person)


def test_the_code_page_without_a_change_under_way_goes_back_to_the_form(portal):
    _, client, *_ = portal
    page = client.get("/payments/bank-details/code", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/payments/bank-details"


def test_a_returned_payment_points_to_the_change_and_is_paid_again_once_confirmed(portal, tmp_path):
    app, client, person, award, sms, clock = portal
    clock.advance(datetime(2026, 4, 20, 9, tzinfo=timezone.utc) - clock.now())
    signed_in(app, client, person)  # a new session, ten days on
    app.payments.run(date(2026, 4, 20))
    app.payments.returned(end_to_end_id(award["id"], PERIOD, "regular"), "AC04 account closed")
    page = client.get("/payments").text
    assert "Your bank sent back a payment" in text(page)
    assert re.search(r'<a class="govuk-link" href="/payments/bank-details">\s*Give new bank details\s*</a>', page)
    send(app)
    assert any("/payments/bank-details" in m["content"]["long"] for m in app.messenger.of_person(person, reveal=True)
               if m["template"] == "payment-returned")
    assert give(client).status_code == 303
    _, code = texted(app, sms)
    assert enter(client, code).status_code == 303
    run = app.payments.run(date(2026, 4, 21))
    assert (run["payments"], run["total"]) == (1, 19110)  # the reissue, to the new account
    newest = max((tmp_path / "out").glob("*.xml"), key=lambda f: f.name)
    (tx,) = pain001.read(newest)
    assert tx["account"] == "55779944" and tx["end_to_end"] == end_to_end_id(award["id"], PERIOD, "reissue")


def test_a_change_the_officer_finds_was_not_the_persons_keeps_the_payment_held_until_new_details(portal):
    app, client, person, award, sms, _ = portal
    give(client)
    _, code = texted(app, sms)
    assert enter(client, code).status_code == 303
    (case,) = app.cases.list(queue="verification", person=person)
    coach = app.officers.add("Wyn Coach", "sub-wyn", "employment-department", ["work-coach"])
    app.cases.resolve(case.id, coach, "rejected", "The person says they did not make the change", case.version)
    (held,) = [p for p in app.payments.store.payments_of(award=award["id"]) if p["status"] == "held"]
    assert held["held_reason"] == "change-rejected"
    assert app.payments.run(date(2026, 4, 20))["payments"] == 0  # nothing goes to the account in doubt
    # the person confirms other details with a code: the payment is released (and held again for the new check)
    give(client, account_number="55779911")
    _, code = texted(app, sms)
    assert enter(client, code).status_code == 303
    statuses = {p["status"] for p in app.payments.store.payments_of(award=award["id"])}
    assert "change-rejected" not in {p["held_reason"] for p in app.payments.store.payments_of(award=award["id"])}
    assert "held" in statuses


def test_bank_details_given_in_the_survey_change_only_with_a_code_never_through_the_survey_again(portal):
    """The survey takes a first account; changing it afterwards is the coded change, with its hold and its
    message. "Change" on My data points there, and the survey asked to change it leaves the account alone."""
    app, client, _, _, _, _ = portal
    person = app.registry.add_person()
    app.registry.record_many(PLATFORM, [(person, [{"attribute": k, "value": v, "basis": "register", "tier": "gold"}
                                                  for k, v in {"given_name": "Mo", "family_name": "Shah",
                                                               "date_of_birth": "1980-01-01"}.items()])])
    app.payments.award(person, "jsa-new-style", "survey-change", start=date(2026, 4, 6))
    signed_in(app, client, person)
    app.questions.answer(person, {"bank_account": "20-00-00 55779911"})  # given in the survey: source self
    survey = client.get("/survey?change=bank_account").text
    assert 'name="account_number"' not in survey
    client.post("/survey", data={"csrf_token": csrf(survey), "change": "bank_account", "sort_code": "20 00 00",
                                 "account_number": "55779944"})
    page = client.get("/survey").text
    client.post("/survey/confirm", data={"csrf_token": csrf(page), "sort_code": "20 00 00",
                                         "account_number": "55779944"})
    assert account(app, person) == "20-00-00 55779911"
    data = client.get("/data").text
    assert "/survey?change=bank_account" not in data and 'href="/payments/bank-details"' in data


def test_the_survey_hints_break_their_lines_rather_than_show_markup(portal):
    _, client, _, _, _, _ = portal
    for lang in ("en", "cy"):
        page = client.get(f"/survey?lang={lang}").text
        assert 'name="aspirations"' in page and "&lt;br&gt;" not in page
