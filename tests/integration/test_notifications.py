"""Messages on every channel, against real servers: SMTP (aiosmtpd), a Notify-compatible SMS
API checked with the official client's own JWT rules, and WeasyPrint letters."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from civicmoments.adapters.channels.email import SmtpEmail
from civicmoments.adapters.store.schema import engine_heartbeats, inbox
from civicmoments.domain.clock import FakeClock
from civicmoments.domain.messages import Channel, Status
from civicmoments.engine.ports import Effect, Outgoing
from civicmoments.engine.steps import PLATFORM

from ..channels import NotifyLike, SmtpServer, api_key
from ..conftest import make_app
from .test_crash_and_concurrency import worker_env

_keys = itertools.count(1)
WINTER_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # 09:00 in London


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def sms():
    servers: list[NotifyLike] = []

    def start(answer: int | str = 201) -> NotifyLike:
        servers.append(NotifyLike(answer).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def sms_provider(server: NotifyLike, name: str = "notify", priority: int = 10, **more) -> dict:
    return {"name": name, "api_key": api_key(), "base_url": server.url, "template_id": "body-only",
            "priority": priority, **more}


def email_provider(server: SmtpServer, name: str = "smtp", **more) -> dict:
    return {"name": name, "url": server.url, "sender": "help@civic.example", "connections": 2, **more}


def messaging(db_url: str, tmp_path: Path, clock=None, **settings):
    clock = clock or FakeClock(WINTER_MORNING)
    return make_app(db_url, clock, settings={"letters_dir": tmp_path / "letters", **settings})


def registrar(app):
    if not hasattr(app, "registrar"):
        app.registrar, _ = app.organisations.add("Registrar", ["https://registrar.example"],
                                                 ["facts:identity", "facts:contact", "facts:address"])
    return app.registrar


def person(app, channels=(), facts: dict | None = None, **prefs) -> str:
    org = registrar(app)
    pid = app.registry.add_person()
    base = {"given_name": "Abe", "family_name": "Jones"}
    app.registry.record(org, pid, [{"attribute": k, "value": v} for k, v in {**base, **(facts or {})}.items()])
    app.messenger.set_preferences(pid, {"channels": list(channels), **prefs})
    return pid


NOTICE = {"eligible": True, "awarded": True, "weekly_amount": 92.05, "undecided": False, "answer_within_days": 14,
          "universal_credit": False, "universal_credit_monthly": 0.0, "first_payment_pence": 0,
          "first_payment_date": "", "account_last4": ""}


def notify(app, pid: str, template: str = "notice-of-assistance", key: str | None = None,
           values: dict | None = None, journey: str | None = None):
    effect = Effect(key=key or f"k{next(_keys)}", journey=journey, person=pid, step="notice", kind="notify",
                    payload={"spec": {"template": template},
                             "personalisation": {"values": values if values is not None
                                                 else {**NOTICE, "awarded": True, "jobs": []}}},
                    max_attempts=5, backoff_seconds=2.0, id=0, attempts=1)
    return app.messenger.perform([effect])[0]


PLAN = {"jobs": [], "paths": [], "options": 0, "first_options": 0, "income": []}


def send(app, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not app.messenger.run_once():
            return


def only(app, pid: str) -> dict:
    (m,) = app.messenger.of_person(pid, reveal=True)
    return m


def trail(m: dict) -> list[tuple[str, str]]:
    return [(h["channel"], h["status"]) for h in m["history"]]


def test_an_email_arrives_with_the_right_headers_body_and_language(db_url, tmp_path, smtp):
    app = messaging(db_url, tmp_path, email_providers=[email_provider(smtp)])
    pid = person(app, ["email"], {"email": "abe@example.org"}, language="cy")
    job = {"title": "welder", "employer": "Crown Works", "town": "Leeds", "miles": 2.5, "wage_pence": 2800000,
           "why": "direct match"}
    assert notify(app, pid, values={**NOTICE, "awarded": True, "jobs": [job]}).verdict.value == "done"
    send(app)
    (mail,) = smtp.messages
    assert mail["To"] == "Abe Jones <abe@example.org>"
    assert mail["From"] == "Civic Moments <help@civic.example>"
    assert mail["Subject"] == "Help ar ôl i'ch swydd ddod i ben"
    assert mail["Content-Language"] == "cy"
    m = only(app, pid)
    assert mail["X-Civic-Message"] == m["id"]
    text = mail.get_body(("plain",)).get_content()
    assert "Annwyl Abe Jones" in text and "£92.05 yr wythnos" in text
    page = mail.get_body(("html",)).get_content()
    assert '<html lang="cy">' in page
    assert "<li>Welder gyda Crown Works, Leeds: 3 milltir i ffwrdd, £28,000 y flwyddyn. Pam: direct match</li>" in page
    assert m["status"] == "delivered" and trail(m)[-1] == ("email", "delivered")
    log = app.registry.store.log_for(pid)
    assert [(e["recipient"], e["channel"], e["attributes"]) for e in log] == [("smtp", "message:email", ["email"])]
    # the log names the exact bytes the SMTP server received
    assert log[0]["body_sha256"] == hashlib.sha256(smtp.inbox.raw[0]).hexdigest()
    with app.store.engine.connect() as conn:
        delivered = conn.execute(select(inbox.c.subject, inbox.c.data)
                                 .where(inbox.c.type == "civic.message.delivered")).all()
    assert [(subject, data["channel"]) for subject, data in delivered] == [(pid, "email")]


def test_a_letter_is_a_tagged_pdf_with_the_persons_name_and_the_text(db_url, tmp_path):
    app = messaging(db_url, tmp_path)
    pid = person(app, ["letter"], {"address_line_1": "4 Mill Lane", "town": "Leeds", "postcode": "LS1 4AP"},
                 large_print=True)
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert (m["channel"], m["status"]) == ("letter", "sending")
    pdf = tmp_path / "letters" / f"{m['id']}.pdf"
    reader = PdfReader(pdf)
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    words = " ".join(page.extract_text() for page in reader.pages)
    assert "Abe Jones" in words and "4 Mill Lane" in words and "LS1 4AP" in words
    assert "5 January 2026" in words  # dated on the platform's clock, as people write dates
    assert "New Style Jobseeker's Allowance of £92.05 a week" in " ".join(words.split())
    (entry,) = app.registry.store.log_for(pid)  # the print supplier gets exactly these bytes
    assert entry["body_sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    app.messenger.posted(m["id"])
    assert only(app, pid)["status"] == "delivered"


def test_a_welsh_letter_is_dated_in_welsh_on_the_uk_calendar_day_its_text_was_written(db_url, tmp_path):
    """Written at 00:30 BST on 1 July (23:30 UTC on 30 June) and printed two days later, the letter
    bears 1 July, the day its deadlines count from, not the UTC day nor the day it was printed."""
    app = messaging(db_url, tmp_path, FakeClock(datetime(2031, 6, 30, 23, 30, tzinfo=timezone.utc)))
    pid = person(app, ["letter"], {"address_line_1": "2 Quay St", "town": "Cardiff", "postcode": "CF10 1EP"},
                 language="cy")
    notify(app, pid)
    app.clock.advance(timedelta(days=2))
    send(app)
    m = only(app, pid)
    reader = PdfReader(tmp_path / "letters" / f"{m['id']}.pdf")
    words = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert reader.trailer["/Root"]["/Lang"] == "cy"
    assert "1 Gorffennaf 2031" in words and "30 Mehefin" not in words and "3 Gorffennaf" not in words


def test_a_large_print_letter_uses_bigger_type(db_url, tmp_path):
    app = messaging(db_url, tmp_path)
    address = {"address_line_1": "4 Mill Lane", "town": "Leeds", "postcode": "LS1 4AP"}
    small, large = person(app, ["letter"], address), person(app, ["letter"], address, large_print=True)
    notify(app, small)
    notify(app, large)
    send(app)
    pages = {p: len(PdfReader(tmp_path / "letters" / f"{only(app, p)['id']}.pdf").pages) for p in (small, large)}
    assert pages[large] > pages[small]


def test_the_fallback_chain_goes_on_to_a_member_of_staff_and_records_every_step(db_url, tmp_path, sms, smtp):
    server = sms()
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server)], email_providers=[email_provider(smtp)])
    pid = person(app, ["sms", "email"], {"phone": "12345", "email": "abe@example"})
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert m["chain"] == ["sms", "email", "inbox", "letter", "assisted"]
    assert (m["channel"], m["status"]) == ("inbox", "sending")  # waiting to be read
    assert server.received == [] and smtp.messages == []
    details = [h["detail"] for h in m["history"]]
    assert any(d.startswith("invalid mobile number") for d in details)
    assert any(d.startswith("invalid email address") for d in details)
    profile = app.registry.profile(pid)
    assert profile["phone_valid"].value is False and profile["email_valid"].value is False
    app.clock.advance(timedelta(days=3, seconds=1))  # not read in time; no postcode for a letter
    send(app)
    m = only(app, pid)
    assert (m["channel"], m["status"]) == ("assisted", "sending")
    assert [c for c, s in trail(m) if s == "queued"] == ["sms", "email", "inbox", "letter", "assisted"]
    assert "no postcode known" in m["history"][-3]["detail"]
    tasks = app.messenger.store.in_channel(Channel.ASSISTED, Status.SENDING)
    assert [t["id"] for t in tasks] == [m["id"]]
    app.messenger.contacted(m["id"], "phoned; explained the notice")
    assert only(app, pid)["status"] == "delivered"


def test_a_message_not_read_in_the_inbox_goes_by_text_then_a_receipt_delivers_it(db_url, tmp_path, sms):
    server = sms()
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server)])
    pid = person(app, (), {"phone": "07911 123456"})
    notify(app, pid)
    send(app)
    assert (only(app, pid)["channel"], server.received) == ("inbox", [])
    app.clock.advance(timedelta(days=3, seconds=1))
    send(app)
    (sent,) = server.received
    m = only(app, pid)
    assert sent["phone_number"] == "+447911123456" and sent["reference"] == m["id"]
    assert sent["personalisation"]["body"].startswith("Abe, we know your job has ended")
    assert server.rejected == []
    (entry,) = [e for e in app.registry.store.log_for(pid) if e["channel"] == "message:sms"]
    assert entry["body_sha256"] == hashlib.sha256(server.raw[0]).hexdigest()  # the bytes Notify received
    assert (m["channel"], m["status"]) == ("sms", "sending")
    app.messenger.receipt(m["id"], "delivered")
    assert only(app, pid)["status"] == "delivered"


def test_reading_a_message_in_the_inbox_delivers_it(db_url, tmp_path):
    app = messaging(db_url, tmp_path)
    pid = person(app)
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert app.messenger.read(pid, m["id"]) is True
    assert only(app, pid)["status"] == "delivered"
    app.clock.advance(timedelta(days=4))
    send(app)
    assert only(app, pid)["channel"] == "inbox"  # delivered messages do not move on


def test_someone_not_online_skips_the_inbox_and_email(db_url, tmp_path, sms, smtp):
    server = sms()
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server)], email_providers=[email_provider(smtp)])
    pid = person(app, ("email",), {"phone": "07911123456", "email": "abe@example.org"}, offline=True)
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert m["chain"] == ["sms", "letter", "assisted"]
    assert len(server.received) == 1 and smtp.messages == []


def test_a_failing_provider_is_set_aside_and_traffic_moves_to_the_next(db_url, tmp_path, sms):
    broken, healthy = sms(500), sms(201)
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(broken, "primary", 1),
                                                     sms_provider(healthy, "backup", 2)],
                    provider_cooldown_seconds=600)
    people = [person(app, ["sms"], {"phone": f"079111234{n:02d}"}) for n in range(30)]
    for pid in people:
        notify(app, pid)
    for _ in range(10):
        send(app)
        app.clock.advance(timedelta(seconds=70))  # past each retry's backoff
    messages = [only(app, pid) for pid in people]
    assert all((m["channel"], m["status"], m["provider"]) == ("sms", "sending", "backup") for m in messages)
    assert len(healthy.received) == 30
    assert 5 <= len(broken.received) <= 30
    failed_first = [m for m in messages if ("sms", "technical-failure") in trail(m)]
    assert failed_first and all(m["history"][1]["provider"] == "primary" for m in failed_first)


def test_a_4xx_is_not_retried_but_moves_down_the_chain(db_url, tmp_path, sms):
    server = sms(400)
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server)])
    pid = person(app, ["sms"], {"phone": "07911123456"})
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert len(server.received) == 1
    assert trail(m)[1] == ("sms", "permanent-failure") and "answered 400" in m["history"][1]["detail"]
    assert (m["channel"], m["status"]) == ("inbox", "sending")


@pytest.mark.parametrize("answer", [503, "hang"])
def test_a_5xx_or_a_timeout_is_retried_with_backoff(db_url, tmp_path, sms, answer):
    server = sms(answer)
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server, timeout_seconds=0.5)],
                    provider_error_threshold=1.1)  # never set aside: this test is about retries
    pid = person(app, ["sms"], {"phone": "07911123456"})
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert (m["channel"], m["status"]) == ("sms", "technical-failure")
    send(app)
    assert len(server.received) == 1  # not yet: the backoff has not passed
    for _ in range(4):
        app.clock.advance(timedelta(minutes=1))
        send(app)
    m = only(app, pid)
    assert len(server.received) == 5
    assert m["channel"] == "inbox"
    assert [h["detail"] for h in m["history"] if "gave up" in h["detail"]][0].endswith("gave up after 5 attempts")


def test_the_same_effect_twice_is_one_message(db_url, tmp_path, sms):
    server = sms()
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server)])
    pid = person(app, ["sms"], {"phone": "07911123456"})
    first, again = notify(app, pid, key="journey-1:notice"), notify(app, pid, key="journey-1:notice")
    assert first.result == again.result
    send(app)
    assert len(app.messenger.of_person(pid)) == 1 and len(server.received) == 1


def test_withdrawing_consent_cancels_a_pending_message_for_that_purpose(db_url, tmp_path, sms):
    server = sms()
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server)])
    pid = person(app, ["sms"], {"phone": "07911123456"}, quiet_hours="08:00-10:00")  # held: it is 09:00
    app.consents.give(pid, "employment-support")
    notify(app, pid, template="return-to-work-plan", values=PLAN)
    notify(app, pid, template="notice-of-assistance")  # another purpose: it goes on
    send(app)
    app.consents.withdraw(pid, "employment-support")
    app.clock.advance(timedelta(hours=2))
    send(app)
    by_template = {m["template"]: m for m in app.messenger.of_person(pid)}
    assert by_template["return-to-work-plan"]["status"] == "cancelled"
    assert by_template["return-to-work-plan"]["history"][-1]["detail"] == "consent for employment-support withdrawn"
    assert by_template["notice-of-assistance"]["status"] == "sending"
    assert len(server.received) == 1
    refused = notify(app, pid, template="return-to-work-plan", values=PLAN)
    assert refused.verdict.value == "fail" and "withdrawn consent" in refused.error


def test_cancelling_a_journey_cancels_its_pending_messages(db_url, tmp_path):
    app = messaging(db_url, tmp_path)
    employer, _ = app.organisations.add("Employer", ["https://e.example/hr"], ["uk.gov.dwp.*"])
    pid = person(app)
    app.registry.record_many(PLATFORM, [(pid, [{"attribute": "employer", "value": "Employer"}])])  # its own staff
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": "https://e.example/hr", "id": "n1", "subject": pid,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 30,
                                           "class1_contribution_years": 2}}])
    app.worker.drain()
    m = only(app, pid)
    assert (m["template"], m["status"]) == ("notice-of-assistance", "sending")
    long = " ".join(m["content"]["long"].split())  # nothing known about Abe's National Insurance: undecided
    assert "We cannot work out your New Style Jobseeker's Allowance yet" in long
    assert "a work coach will look at your claim" in long
    (j,) = app.store.journeys_for(pid)
    app.store.request_cancel(j.id, "person moved abroad", app.clock.now())
    app.worker.drain()
    m = only(app, pid)
    assert m["status"] == "cancelled" and m["history"][-1]["detail"] == "the journey ended"


def test_quiet_hours_hold_a_text_until_the_morning(db_url, tmp_path, sms):
    server = sms()
    evening = FakeClock(datetime(2026, 1, 5, 22, 30, tzinfo=timezone.utc))
    app = messaging(db_url, tmp_path, clock=evening, sms_providers=[sms_provider(server)])
    pid = person(app, ["sms"], {"phone": "07911123456"}, quiet_hours="21:00-08:00")
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert server.received == [] and "held for quiet hours (21:00-08:00) until 08:00" in m["history"][-1]["detail"]
    evening.advance(timedelta(hours=9, minutes=31))
    send(app)
    assert len(server.received) == 1


def test_a_rate_limit_holds_what_the_provider_cannot_take_yet(db_url, tmp_path, sms):
    server = sms()
    app = messaging(db_url, tmp_path, sms_providers=[sms_provider(server, rate_per_second=4)])
    people = [person(app, ["sms"], {"phone": f"079111234{n:02d}"}) for n in range(10)]
    for pid in people:
        notify(app, pid)
    app.messenger.run_once()
    assert len(server.received) == 4
    for _ in range(200):
        app.clock.advance(timedelta(seconds=1))
        app.messenger.run_once()
        if len(server.received) == 10:
            break
        time.sleep(0.05)
    assert len(server.received) == 10
    assert all(only(app, p)["status"] == "sending" for p in people)


def test_a_template_value_that_cannot_be_worked_out_fails_the_effect_with_the_reason(db_url, tmp_path):
    app = messaging(db_url, tmp_path)
    pid = person(app)
    result = notify(app, pid, values={"eligible": True, "awarded": True, "jobs": []})
    assert result.verdict.value == "fail" and "needs a value for weekly_amount" in result.error
    assert app.messenger.of_person(pid) == []


# -- real-world faults: each message on its own, every Notify status, addresses that cannot be used --

BATCH = ["ann@example.com", "zoë.ward@example.com", "bo@example.com", "cy@bücher.example"]


@pytest.mark.parametrize("smtputf8", [True, False], ids=["server-offers-smtputf8", "server-without-smtputf8"])
def test_one_address_that_cannot_be_sent_fails_alone_and_nothing_is_sent_twice(sqlite_url, tmp_path, smtputf8):
    server = SmtpServer(smtputf8=smtputf8).start()
    try:
        app = messaging(sqlite_url, tmp_path, email_providers=[email_provider(server)])
        people = [person(app, ["email"], {"email": address}) for address in BATCH]
        for pid in people:
            notify(app, pid)
        send(app)
        ascii_ones = ["ann@example.com", "bo@example.com", "cy@xn--bcher-kva.example"]  # the domain in IDNA form
        expected = sorted(ascii_ones + (["zoë.ward@example.com"] if smtputf8 else []))
        assert sorted(server.recipients) == expected
        assert "Abe Jones <cy@xn--bcher-kva.example>" in [str(m["To"]) for m in server.messages]
        zoe = only(app, people[1])
        if smtputf8:
            assert zoe["status"] == "delivered" and zoe["channel"] == "email"
            to = [str(m["To"]).encode("utf-8", "surrogateescape").decode("utf-8") for m in server.messages]
            assert "Abe Jones <zoë.ward@example.com>" in to  # a UTF-8 header, as RFC 6532 allows
        else:
            (failed,) = [h for h in zoe["history"] if h["status"] == "permanent-failure"]
            assert failed["channel"] == "email" and "does not offer SMTPUTF8 (RFC 6531)" in failed["detail"]
            assert zoe["channel"] == "inbox"  # moved on to the next channel
        for pid in (people[0], people[2], people[3]):
            assert only(app, pid)["status"] == "delivered"
        app.clock.advance(timedelta(hours=5))
        send(app)
        assert sorted(server.recipients) == expected  # nothing sent again
        (member,) = app.messenger.channels[Channel.EMAIL].members
        assert member.health.down_until == 0.0  # the provider was never set aside
    finally:
        server.stop()


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-command-at-a-time"])
def test_a_provider_error_on_one_message_leaves_the_others_delivered(sqlite_url, tmp_path, pipelining):
    smtp = SmtpServer(pipelining=pipelining).start()
    try:
        app = messaging(sqlite_url, tmp_path, email_providers=[email_provider(smtp, connections=1)])
        good, refused, after = (person(app, ["email"], {"email": address}) for address in (
            "dee@example.com", "eve@refused.example", "fay@example.com"))
        for pid in (good, refused, after):
            notify(app, pid)
        send(app)  # one connection: the refused recipient's message goes between the other two
        for pid in (good, after):
            assert only(app, pid)["status"] == "delivered"
        assert sorted(smtp.recipients) == ["dee@example.com", "fay@example.com"]
        assert "550" in next(h["detail"] for h in only(app, refused)["history"]
                             if h["status"] == "permanent-failure")
    finally:
        smtp.stop()


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-command-at-a-time"])
def test_a_line_starting_with_a_full_stop_arrives_as_written(pipelining):
    smtp = SmtpServer(pipelining=pipelining).start()
    try:
        channel = SmtpEmail("smtp", "127.0.0.1", smtp.port, "help@civic.example", concurrency=1)
        long = "Dear Ann,\n\n.\n. a line with a full stop first\n..two\n\nThe end."
        (outcome,) = channel.send([Outgoing("m-1", "p-1", "ann@example.com", "Ann", "en", "Hello", "short", long)])
        assert outcome.status is Status.DELIVERED
        (msg,) = smtp.messages
        assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == long
        assert hashlib.sha256(smtp.inbox.raw[0]).hexdigest() == outcome.body_sha256
    finally:
        smtp.stop()


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-command-at-a-time"])
def test_a_lost_smtp_connection_loses_no_email_and_sends_none_twice(db_url, tmp_path, pipelining):
    smtp = SmtpServer(pipelining=pipelining).start()
    app = messaging(db_url, tmp_path, email_providers=[email_provider(smtp)], provider_cooldown_seconds=0)
    first = [person(app, ["email"], {"email": f"first{n}@example.com"}) for n in range(3)]
    for pid in first:
        notify(app, pid)
    send(app)  # the sending threads keep their connections open
    assert sorted(smtp.recipients) == [f"first{n}@example.com" for n in range(3)]
    smtp.stop()  # the open connections are cut, and nothing listens
    second = [person(app, ["email"], {"email": f"second{n}@example.com"}) for n in range(3)]
    for pid in second:
        notify(app, pid)
    send(app)
    for pid in second:
        m = only(app, pid)
        assert m["status"] == "technical-failure" and m["channel"] == "email"  # kept, to be tried again
    back = SmtpServer(port=smtp.port, pipelining=pipelining).start()  # the server returns, on the same port
    try:
        for _ in range(10):
            app.clock.advance(timedelta(minutes=5))
            send(app)
        assert sorted(back.recipients) == [f"second{n}@example.com" for n in range(3)]  # each once, none of the first
        assert [only(app, p)["status"] for p in first + second] == ["delivered"] * 6
    finally:
        back.stop()


SMS_STATUSES = [  # GOV.UK Notify's status, and what the message is then
    ("created", "sending"), ("sending", "sending"), ("pending", "sending"), ("delivered", "delivered"),
    ("sent", "sent"), ("temporary-failure", "temporary-failure"), ("technical-failure", "technical-failure"),
    ("permanent-failure", "queued"),  # the next channel
]


@pytest.mark.parametrize(("status", "after"), SMS_STATUSES)
def test_every_notify_status_for_a_text_is_understood(sqlite_url, tmp_path, sms, status, after):
    app = messaging(sqlite_url, tmp_path, sms_providers=[sms_provider(sms())])
    pid = person(app, ["sms"], {"phone": "+33 6 12 34 56 78"})  # a French mobile: an international text
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert (m["channel"], m["status"]) == ("sms", "sending")
    result = app.messenger.receipt(m["id"], status)
    assert result["status"] == after


def test_sent_is_final_and_the_message_is_not_sent_anywhere_else(sqlite_url, tmp_path, sms, smtp):
    server = sms()
    app = messaging(sqlite_url, tmp_path, sms_providers=[sms_provider(server)],
                    email_providers=[email_provider(smtp)])
    pid = person(app, ["sms"], {"phone": "+33 6 12 34 56 78", "email": "ana@example.com", "postcode": "LS1 4AP",
                                "address_line_1": "4 Mill Lane", "town": "Leeds"})
    notify(app, pid)
    send(app)
    app.messenger.receipt(only(app, pid)["id"], "sent")
    for _ in range(4):  # days go by: no receipt comes from abroad, and none is needed
        app.clock.advance(timedelta(days=3))
        send(app)
    m = only(app, pid)
    assert (m["channel"], m["status"]) == ("sms", "sent")
    assert len(server.received) == 1 and smtp.messages == []
    assert not list((tmp_path / "letters").glob("*.pdf"))
    with app.store.reader.connect() as conn:
        kinds = conn.execute(select(inbox.c.type).where(inbox.c.subject == pid)).scalars().all()
    assert kinds.count("civic.message.delivered") == 1


@pytest.mark.parametrize(("status", "after"), [
    ("accepted", "sending"), ("pending-virus-check", "sending"), ("received", "delivered"),
    ("cancelled", "cancelled"), ("validation-failed", "queued"), ("virus-scan-failed", "queued"),
])
def test_notify_letter_statuses_are_understood(sqlite_url, tmp_path, status, after):
    app = messaging(sqlite_url, tmp_path)
    pid = person(app, ["letter"], {"address_line_1": "4 Mill Lane", "town": "Leeds", "postcode": "LS1 4AP"})
    notify(app, pid)
    send(app)
    assert app.messenger.receipt(only(app, pid)["id"], status)["status"] == after


@pytest.mark.parametrize(("facts", "reason"), [
    ({"postcode": "NOT A POSTCODE"}, "neither a real UK postcode nor a country"),
    ({"postcode": "LS1 4AP"}, "at least 3 lines"),                                  # no street, no town
    ({"address_line_1": "4 Mill Lane", "town": "Leeds", "postcode": "LS1 4XQ9"}, "neither a real UK postcode"),
])
def test_a_letter_that_cannot_be_delivered_fails_at_once_and_goes_to_staff(sqlite_url, tmp_path, facts, reason):
    app = messaging(sqlite_url, tmp_path)
    pid = person(app, ["letter"], facts)
    notify(app, pid)
    send(app)
    m = only(app, pid)
    (failed,) = [h for h in m["history"] if h["channel"] == "letter" and h["status"] == "permanent-failure"]
    assert failed["detail"].startswith("undeliverable address:") and reason in failed["detail"]
    assert not list((tmp_path / "letters").glob("*.pdf"))  # nothing queued for printing
    assert "assisted" in [h["channel"] for h in m["history"] if h["status"] == "queued"]
    assert [x["id"] for x in app.messenger.store.in_channel(Channel.ASSISTED, Status.SENDING)] == [m["id"]]


def test_a_bfpo_letter_goes_to_the_print_queue(sqlite_url, tmp_path):
    app = messaging(sqlite_url, tmp_path)
    pid = person(app, ["letter"], {"address_line_1": "HQ Unit", "postcode": "BFPO 801"})
    notify(app, pid)
    send(app)
    m = only(app, pid)
    assert (m["channel"], m["status"]) == ("letter", "sending")
    assert (tmp_path / "letters" / f"{m['id']}.pdf").exists()


def test_an_engine_only_worker_leaves_messages_and_a_sending_worker_sends_them(sqlite_url, tmp_path, smtp):
    app = messaging(sqlite_url, tmp_path, email_providers=[email_provider(smtp)])
    pid = person(app, ["email"], {"email": "abe@example.com"})
    notify(app, pid)
    app.worker.role = "engine"
    rounds = iter(range(5))
    app.worker.run(lambda: next(rounds, None) is None)
    assert only(app, pid)["status"] == "queued" and smtp.recipients == []
    app.worker.role = "sender"
    app.worker.run(lambda: only(app, pid)["status"] != "queued")
    assert only(app, pid)["status"] == "delivered" and smtp.recipients == ["abe@example.com"]
    app.worker.role = "courier"
    with pytest.raises(ValueError, match="unknown worker role 'courier'"):
        app.worker.run()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_two_sending_worker_processes_send_every_email_once(db_url, tmp_path, smtp):
    """`civic worker --role sender`, twice, on one database: each claims its own batches."""
    provider = email_provider(smtp)
    app = messaging(db_url, tmp_path, email_providers=[provider])
    people = [person(app, ["email"], {"email": f"p{n}@example.com"}) for n in range(60)]
    for pid in people:
        notify(app, pid)
    env = worker_env(db_url, CIVIC_PACK_DIR=str(app.settings.pack_dir), CIVIC_EMAIL_PROVIDERS=json.dumps([provider]),
                     CIVIC_MESSAGE_BATCH_SIZE="5", CIVIC_DATA_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-m", "civicmoments.cli", "worker", "--role", "sender"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while len(smtp.recipients) < len(people):
            assert time.monotonic() < deadline, f"{len(smtp.recipients)} of {len(people)} sent"
            for p in procs:
                assert p.poll() is None, p.stderr.read().decode()[-2000:]
            time.sleep(0.1)
        time.sleep(0.5)  # a message sent twice would arrive now
        # Both ran, supervised: on a slow machine one may send them all before the other has started,
        # so its heartbeat is waited for (it is written at start, with or without work).
        while True:
            with app.store.engine.connect() as conn:
                beats = len(conn.execute(select(engine_heartbeats.c.worker_id)).all())
            if beats == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
    assert sorted(smtp.recipients) == sorted(f"p{n}@example.com" for n in range(60))
    assert {only(app, pid)["status"] for pid in people} == {"delivered"}
    assert beats == 2, "both sending workers ran, each under its supervisor"
