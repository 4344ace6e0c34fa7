"""Contact details a person gives in the portal, confirmed with a code sent to the new number or
address through the real channels (a Notify-like SMS API, an SMTP server); only a confirmed detail
becomes a fact. And messages in the person's language: switching the portal to Welsh makes the
messages queued afterwards Welsh, shown with their language marked."""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.domain.clock import FakeClock

from ..channels import NotifyLike, SmtpServer
from ..conftest import make_app
from .test_interview_booking import signed_in
from .test_notifications import email_provider, notify, send, sms_provider

SECRET = "portal-test-secret-" + "x" * 20
WINTER_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # outside quiet hours


@pytest.fixture
def channels():
    sms, smtp = NotifyLike(201).start(), SmtpServer().start()
    yield sms, smtp
    sms.stop()
    smtp.stop()


@pytest.fixture
def portal(sqlite_url, tmp_path, channels):
    sms, smtp = channels
    app = make_app(sqlite_url, FakeClock(WINTER_MORNING), settings={
        "session_secret": SECRET, "demo_mode": True, "letters_dir": tmp_path / "letters",
        "sms_providers": [sms_provider(sms)], "email_providers": [email_provider(smtp)]})
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in {
        "given_name": "Abe", "family_name": "Ashworth", "phone": "07811 123456"}.items()])
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        signed_in(app, client, person)
        yield app, client, person, sms, smtp
    app.store.close()


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def errors(page: str) -> list[str]:
    summary = re.search(r'govuk-error-summary__list">(.*?)</ul>', page, re.S)
    return [html.unescape(t).strip() for t in re.findall(r"<a [^>]*>([^<]+)</a>", summary.group(1))] if summary else []


def give(client, kind: str, value: str):
    page = client.get(f"/preferences/contact/{kind}").text
    return client.post(f"/preferences/contact/{kind}", data={"csrf_token": csrf(page), "value": value},
                       follow_redirects=False)


def enter(client, code: str):
    page = client.get("/preferences/code").text
    return client.post("/preferences/code", data={"csrf_token": csrf(page), "code": code}, follow_redirects=False)


def texted_code(app, sms) -> tuple[str, str]:
    send(app)
    sent = sms.received[-1]
    return sent["phone_number"], re.search(r"\b(\d{6})\b", sent["personalisation"]["body"]).group(1)


def facts(app, person: str) -> dict:
    return {k: f.value for k, f in app.registry.profile(person).items()}


def test_a_new_mobile_number_is_saved_only_once_the_code_texted_to_it_is_entered(portal):
    app, client, person, sms, _ = portal
    moved = give(client, "phone", "07400 123 456")
    assert moved.status_code == 303 and moved.headers["location"] == "/preferences/code"
    page = client.get("/preferences/code").text
    assert "Enter the code" in page and "+447400123456" in page and "15 minutes" in page
    to, code = texted_code(app, sms)
    assert to == "+447400123456"  # the NEW number, not the one on record
    assert facts(app, person)["phone"] == "07811 123456"  # nothing changes before the code
    assert "contact-confirm" not in client.get("/inbox").text and code not in client.get("/inbox").text
    done = enter(client, code)
    assert done.status_code == 303 and done.headers["location"] == "/preferences"
    page = client.get("/preferences").text
    assert "Your mobile phone number +447400123456 is confirmed and saved" in page
    fact = app.registry.profile(person)["phone"]
    assert (fact.value, fact.basis.value, fact.tier.value, fact.source) == ("+447400123456", "declared", "bronze",
                                                                          "self")
    (m,) = [m for m in app.messenger.of_person(person) if m["template"] == "contact-confirm"]
    # sent by that channel only; the provider's receipt settles it later
    assert (m["purpose"], m["chain"], m["status"]) == ("contact-details", ["sms"], "sending")


def test_an_email_address_is_confirmed_by_the_code_emailed_to_it_in_welsh(portal):
    app, client, person, _, smtp = portal
    client.get("/language", params={"to": "cy", "next": "/preferences"})
    assert give(client, "email", "Abe.Ashworth@Example.org ").status_code == 303
    send(app)
    (mail,) = smtp.messages
    assert mail["To"].endswith("<Abe.Ashworth@example.org>") and mail["Content-Language"] == "cy"
    code = re.search(r"\b(\d{6})\b", mail.get_body(("plain",)).get_content()).group(1)
    assert enter(client, code).status_code == 303
    assert "Mae eich cyfeiriad e-bost Abe.Ashworth@example.org wedi'i gadarnhau" in html.unescape(
        client.get("/preferences").text)
    assert facts(app, person)["email"] == "Abe.Ashworth@example.org"


@pytest.mark.parametrize(("kind", "value", "says"), [
    ("phone", "", "Enter a mobile phone number"),
    ("phone", "0113 496 0000", "Enter a UK mobile phone number, like 07700 900 982"),  # a landline
    ("phone", "+33 6 12 34 56 78", "Enter a UK mobile phone number, like 07700 900 982"),  # not UK
    ("email", "abe@", "Enter an email address in the correct format, like name@example.com"),
])
def test_a_number_or_address_that_cannot_be_right_is_refused_with_an_error_summary(portal, kind, value, says):
    app, client, _, sms, smtp = portal
    refused = give(client, kind, value)
    assert refused.status_code == 400 and errors(refused.text) == [says]
    assert f'href="#{kind}"' in refused.text
    send(app)
    assert sms.received == [] and smtp.messages == []


def test_a_wrong_code_is_refused_and_five_wrong_codes_end_it(portal):
    app, client, person, sms, _ = portal
    give(client, "phone", "07400123456")
    _, code = texted_code(app, sms)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert errors(enter(client, "12a").text) == ["The code must be 6 digits"]  # a typo is not a try
    for _ in range(4):
        refused = enter(client, wrong)
        assert refused.status_code == 400 and errors(refused.text) == [
            "The code is not right. Check the code and try again"]
    fifth = enter(client, wrong)
    assert errors(fifth.text) == [
        "You have entered a wrong code too many times. Enter the number or address again to get a new code"]
    late = enter(client, code)  # even the right code, after five wrong ones
    assert late.status_code == 400 and "too many times" in late.text
    assert facts(app, person)["phone"] == "07811 123456"


def test_a_code_lasts_fifteen_minutes_by_the_platforms_clock(portal):
    app, client, person, sms, _ = portal
    give(client, "phone", "07400123456")
    _, code = texted_code(app, sms)
    app.clock.advance(timedelta(minutes=15))
    expired = enter(client, code)
    assert expired.status_code == 400 and errors(expired.text) == [
        "The code has expired. Enter the number or address again to get a new code"]
    assert facts(app, person)["phone"] == "07811 123456"
    give(client, "phone", "07400123456")  # a new code, and a new 15 minutes
    _, fresh = texted_code(app, sms)
    app.clock.advance(timedelta(minutes=14, seconds=59))
    assert enter(client, fresh).status_code == 303
    assert facts(app, person)["phone"] == "+447400123456"


def test_the_code_is_kept_hashed_in_the_server_side_session(portal):
    app, client, _, sms, _ = portal
    give(client, "phone", "07400123456")
    _, code = texted_code(app, sms)
    (token,) = {c.value for c in client.cookies.jar if c.name == "civic_session"}
    stored = app.sessions.load(hashlib.sha256(token.encode()).hexdigest(), app.clock.now())
    pending = stored["contact_pending"]
    assert pending["value"] == "+447400123456" and pending["tries"] == 0
    assert code not in json.dumps(stored) and len(pending["hash"]) == 64


def test_switching_the_portal_to_welsh_makes_later_messages_welsh(portal):
    app, client, person, _, _ = portal
    assert app.messenger.preferences(person).language == "en"
    client.get("/language", params={"to": "cy", "next": "/"})
    assert app.messenger.preferences(person).language == "cy"
    assert notify(app, person).verdict.value == "done"
    (m,) = [m for m in app.messenger.of_person(person, reveal=True) if m["template"] == "notice-of-assistance"]
    assert m["locale"] == "cy" and m["content"]["subject"] == "Help ar ôl i'ch swydd ddod i ben"
    client.get("/language", params={"to": "en", "next": "/"})  # the page in English, the message as written
    page = client.get(f"/inbox/{m['id']}").text
    assert '<article lang="cy" id="message">' in page and "Help ar ôl i&#39;ch swydd ddod i ben" in page
    assert app.messenger.preferences(person).language == "en"


def test_with_no_provider_for_the_channel_the_portal_says_no_code_went_rather_than_that_one_did(sqlite_url, tmp_path):
    """No SMS or email provider is set (as in the demo): "We have sent a code" would be a promise nobody
    keeps, so the person is told the code could not be sent, and nothing waits for a code; a change of
    bank details, whose code goes to the number held, likewise."""
    app = make_app(sqlite_url, FakeClock(WINTER_MORNING), settings={
        "session_secret": SECRET, "demo_mode": True, "letters_dir": tmp_path / "letters"})
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "phone", "value": "07811 123456"}])
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        signed_in(app, client, person)
        for kind, value in (("phone", "07811 654321"), ("email", "abe@example.org")):
            answer = give(client, kind, value)
            assert answer.status_code == 400, answer.headers.get("location")
            assert "We could not send a code just now" in html.unescape(answer.text)
        page = client.get("/payments/bank-details").text
        answer = client.post("/payments/bank-details", data={
            "csrf_token": csrf(page), "account_name": "Abe Ashworth", "sort_code": "20 00 00",
            "account_number": "55779944"}, follow_redirects=False)
        assert answer.status_code == 400 and "We could not send a code just now" in html.unescape(answer.text)
    sent = {m["template"] for m in app.messenger.of_person(person)}
    assert not sent & {"contact-confirm", "bank-details-code"}
    app.store.close()
