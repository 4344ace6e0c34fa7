"""Overpayments, returns and changes of bank details: a person decides, the person is told, nothing is
taken back by a machine, nothing is paid to an account nobody confirmed."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from civicmoments.adapters.payments.pain001 import end_to_end_id
from civicmoments.domain.bank_accounts import BankDetailsError
from civicmoments.engine.payments import BankChangeError
from civicmoments.engine.steps import PLATFORM

from ..conftest import make_app
from ..people import known

ACCOUNT = "20-00-00 55779911"


@pytest.fixture
def app(db_url, clock, tmp_path):
    app = make_app(db_url, clock, settings={"payments_dir": tmp_path / "out"})
    app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
    yield app
    app.store.close()


def told(app, person) -> dict[str, dict]:
    return {m["template"]: m["content"] for m in app.messenger.of_person(person, reveal=True)}


def test_a_later_fact_opens_an_overpayment_case_with_the_calculation_and_recovers_nothing(app):
    abe = known(app, date_of_birth="1990-01-01", bank_account=ACCOUNT)
    award = app.payments.award(abe, "jsa-new-style", "op", start=date(2026, 4, 6))
    app.payments.run(date(2026, 4, 20))
    app.payments.run(date(2026, 5, 4))  # two fortnights paid at £95.55 (25 or over)
    app.registry.record_many(PLATFORM, [(abe, [{"attribute": "date_of_birth", "value": "2003-01-01",
                                                "basis": "register", "tier": "gold"}])])  # corrected: 23
    found = app.payments.recheck(abe, "jsa-new-style")
    assert found["overpaid_pence"] == 2 * 2 * (9555 - 7565)
    assert any("Should have been £151.30 for 14 days at £75.65 a week" in line for line in found["calculation"])
    (case,) = app.cases.list(queue="decision-review", person=abe)
    assert case.data["overpaid_pence"] == 7960 and case.data["calculation"] == found["calculation"]
    message = told(app, abe)["overpayment-found"]
    assert "£79.60 too much" in message["long"] and "Nothing will be taken back from you" in message["long"]
    assert "Should have been £151.30" in message["long"]
    # nothing recovered: the payments made stand, and the next ones wait for the decision, not cut
    pays = app.payments.store.payments_of(award=award["id"])
    assert [p["amount"] for p in pays if p["status"] == "sent"] == [19110, 19110]
    assert {p["held_reason"] for p in pays if p["status"] == "held"} == {"overpayment-review"}
    assert app.payments.run(date(2026, 5, 18))["payments"] == 0
    assert "overpayment-decision" not in told(app, abe)

    dara = app.officers.by_subject("sub-dara") if hasattr(app.officers, "by_subject") else None
    case = app.payments.decide_overpayment(case.id, dara, False, "the register's date of birth was wrong",
                                           case.version)
    assert case.outcome == "overturned"  # the overpayment is not to be recovered
    decision = told(app, abe)["overpayment-decision"]
    assert "do not need to pay anything back" in decision["long"] and "date of birth was wrong" in decision["long"]
    run = app.payments.run(date(2026, 5, 19))
    assert (run["payments"], run["total"]) == (1, 2 * 7565)  # at the corrected rate, nothing deducted


def at(clock, when: datetime) -> None:
    clock.advance(when - clock.now())


def test_a_returned_payment_stops_the_next_asks_for_new_details_and_the_reissue_follows(app, clock):
    abe = known(app, date_of_birth="1980-01-01", bank_account=ACCOUNT, email="abe@example.org")
    award = app.payments.award(abe, "jsa-new-style", "ret", start=date(2026, 4, 6))
    app.payments.run(date(2026, 4, 20))
    first = app.payments.store.payments_of(award=award["id"])[0]
    out = app.payments.returned(end_to_end_id(award["id"], first["period"], "regular"), "AC04 account closed")
    assert out["matched"] and out["held"] == 12
    assert app.payments.run(date(2026, 5, 4))["payments"] == 0  # the next one stops
    returned = told(app, abe)["payment-returned"]["long"]
    assert "ending 9911" in returned and "/payments/bank-details" in returned  # where to give new details

    at(clock, datetime(2026, 5, 5, 9, tzinfo=timezone.utc))
    change = app.payments.request_bank_change(abe, "20-00-00", "55779944")
    code = told(app, abe)["bank-details-code"]["long"].split("enter this code: ")[1][:6]
    result = app.payments.confirm_bank_change(abe, change["id"], code)
    assert result["reissued"] == 1 and result["held"] is not None
    run = app.payments.run(date(2026, 5, 5))
    assert (run["payments"], run["total"]) == (1, 19110)  # the reissue; the next fortnight waits for the check
    app.payments.release_after_check(abe)
    assert app.payments.run(date(2026, 5, 6))["payments"] == 1


def test_a_return_for_a_payment_we_never_made_is_logged_and_a_case(app):
    out = app.payments.returned("CM" + "0" * 33, "AC01 incorrect account number")
    assert out["matched"] is False
    (case,) = app.cases.list(queue="verification")
    assert "cannot match" in case.reason


def test_a_change_of_bank_details_needs_the_code_sent_to_held_contacts_and_holds_the_next_payment(app, clock):
    abe = known(app, date_of_birth="1980-01-01", bank_account=ACCOUNT, email="abe@example.org")
    award = app.payments.award(abe, "jsa-new-style", "chg", start=date(2026, 4, 6))
    at(clock, datetime(2026, 4, 10, 9, tzinfo=timezone.utc))  # ten days before the first payment
    with pytest.raises(BankDetailsError):
        app.payments.request_bank_change(abe, "20-00-00", "12345678")  # fails the modulus check
    change = app.payments.request_bank_change(abe, "20-00-00", "55779944")
    assert (change["channel"], change["to"]) == ("email", "a…@example.org")  # the address already held
    message = told(app, abe)["bank-details-code"]
    assert "account ending 9944" in message["long"] and "If it was not you" in message["long"]
    code = message["long"].split("enter this code: ")[1][:6]
    with pytest.raises(BankChangeError):
        app.payments.confirm_bank_change(abe, change["id"], "000000" if code != "000000" else "111111")
    assert app.registry.profile(abe, reveal=["bank_account"])["bank_account"].value == ACCOUNT  # unchanged
    result = app.payments.confirm_bank_change(abe, change["id"], code)
    assert app.registry.profile(abe, reveal=["bank_account"])["bank_account"].value == "20-00-00 55779944"
    (held,) = [p for p in app.payments.store.payments_of(award=award["id"]) if p["status"] == "held"]
    assert held["seq"] == result["held"] and held["held_reason"] == "details-changed"
    (case,) = app.cases.list(queue="verification", person=abe)
    assert "Bank details changed" in case.reason
    assert app.payments.run(date(2026, 4, 20))["payments"] == 0  # held for the check
    changed = told(app, abe)["bank-details-changed"]["long"]
    assert "account ending 9944" in changed and "£191.10, due on 20 April 2026, is held" in changed
    with pytest.raises(BankChangeError, match="used already"):
        app.payments.confirm_bank_change(abe, change["id"], code)  # a code works once


def test_a_change_long_before_the_next_payment_holds_nothing(app, clock):
    abe = known(app, date_of_birth="1980-01-01", bank_account=ACCOUNT, phone="07811 123456")
    award = app.payments.award(abe, "jsa-new-style", "far", start=date(2026, 4, 6))
    at(clock, datetime(2026, 4, 5, 9, tzinfo=timezone.utc))  # 15 days before the first payment; the pack says 14
    change = app.payments.request_bank_change(abe, "200000", "55779944")
    assert (change["channel"], change["to"]) == ("sms", "456")  # the number already held
    code = told(app, abe)["bank-details-code"]["long"].split("enter this code: ")[1][:6]
    result = app.payments.confirm_bank_change(abe, change["id"], code)
    assert result["held"] is None and result["case"] is None
    assert not [p for p in app.payments.store.payments_of(award=award["id"]) if p["status"] == "held"]
    changed = told(app, abe)["bank-details-changed"]["long"]
    assert "Your next payment goes into the account ending 9944" in changed and "held" not in changed


def test_no_contact_details_held_means_no_change_online(app):
    from civicmoments.engine.payments import NoContactError

    abe = known(app, date_of_birth="1980-01-01", bank_account=ACCOUNT)
    with pytest.raises(NoContactError):
        app.payments.request_bank_change(abe, "200000", "55779944")
    assert "bank-details-code" not in told(app, abe)


def camt054(entries: list[tuple[str, str | None]]) -> str:
    """A bank's camt.054.001.02 report: (end-to-end id, return reason or None for booked)."""
    txs = "".join(
        f'<Ntry><Amt Ccy="GBP">191.10</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BkTxCd/>'
        f"<NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>"
        + (f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>" if reason else "") + "</TxDtls></NtryDtls></Ntry>"
        for e2e, reason in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">'
            "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>R1</MsgId><CreDtTm>2026-04-21T08:00:00</CreDtTm></GrpHdr>"
            "<Ntfctn><Id>N1</Id><CreDtTm>2026-04-21T08:00:00</CreDtTm><Acct><Id><Othr><Id>60837110000001</Id>"
            f"</Othr></Id></Acct>{txs}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>")


def test_the_banks_report_marks_payments_paid_and_returned_and_an_invalid_one_marks_nothing(app, tmp_path):
    from civicmoments.adapters.payments.camt054 import InvalidReportError

    abe, cal = (known(app, date_of_birth="1980-01-01", bank_account=ACCOUNT) for _ in range(2))
    a = app.payments.award(abe, "jsa-new-style", "r1", start=date(2026, 4, 6))
    c = app.payments.award(cal, "jsa-new-style", "r2", start=date(2026, 4, 6))
    app.payments.run(date(2026, 4, 20))
    ids = [end_to_end_id(x["id"], "2026-04-06/2026-04-19", "regular") for x in (a, c)]
    bad = tmp_path / "bad.xml"
    bad.write_text(camt054([(ids[0], None)]).replace("<Sts>BOOK</Sts>", "<Sts>DONE</Sts>"))
    with pytest.raises(InvalidReportError):
        app.payments.reconcile(bad)
    assert {p["status"] for p in app.payments.store.payments_of(person=abe)[:1]} == {"sent"}  # nothing marked
    good = tmp_path / "report.xml"
    good.write_text(camt054([(ids[0], None), (ids[1], "AC04")]))
    assert app.payments.reconcile(good) == {"paid": 1, "returned": 1, "unknown": 0}
    assert app.payments.store.payments_of(person=abe)[0]["status"] == "paid"
    assert app.payments.store.payments_of(person=cal)[0]["status"] == "returned"
    assert "payment-returned" in told(app, cal)


def test_the_officer_checking_a_bank_change_sees_its_last_digits_where_the_code_went_and_when(db_url, clock, tmp_path):
    """The verification case a change opens shows what the officer checks: the new account's last four digits
    (never the whole number), the masked contact the code went to, and the time of the change in UK time."""
    import hashlib
    import html
    import re
    import secrets
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from civicmoments.api.app import create_app

    app = make_app(db_url, clock, settings={"payments_dir": tmp_path / "out", "demo_mode": True,
                                            "session_secret": "s" * 40})
    try:
        dara = app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
        abe = known(app, date_of_birth="1980-01-01", bank_account=ACCOUNT, email="abe@example.org")
        app.payments.award(abe, "jsa-new-style", "chg", start=date(2026, 4, 6))
        at(clock, datetime(2026, 4, 10, 9, 5, tzinfo=timezone.utc))  # 10:05 in London (summer time)
        change = app.payments.request_bank_change(abe, "20-00-00", "55779944")
        code = told(app, abe)["bank-details-code"]["long"].split("enter this code: ")[1][:6]
        app.payments.confirm_bank_change(abe, change["id"], code)
        (case,) = app.cases.list(queue="verification", person=abe)

        console = TestClient(create_app(app))
        token, now = secrets.token_urlsafe(32), app.clock.now()
        app.sessions.save(hashlib.sha256(token.encode()).hexdigest(), {"officer": dara.id, "csrf": "c" * 32},
                          now, now + timedelta(hours=1))
        console.cookies.set("civic_session", token)
        page = console.get(f"/staff/cases/{case.id}")
        assert page.status_code == 200, page.text[:300]
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.text))
        assert "Ending 9944" in " ".join(text.split())
        assert "By email to a…@example.org" in text
        assert "Friday 10 April 2026, 10:05am" in text
        assert "55779944" not in page.text and "abe@example.org" not in page.text
    finally:
        app.store.close()


def test_a_rejected_bank_change_or_document_is_told_to_the_person_with_the_reason(db_url, clock, tmp_path):
    """An officer resolves the check as rejected (over the API, as the console does): the person hears it,
    with the officer's reason and what to do, once; a verified check sends no such message."""
    from fastapi.testclient import TestClient

    from civicmoments.api.app import create_app

    app = make_app(db_url, clock, settings={"payments_dir": tmp_path / "out"})
    try:
        app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
        api = TestClient(create_app(app), headers={"Authorization": f"Bearer {app.officers.token('Dara Maker')}"})

        def resolve(case, outcome, reason):
            r = api.post(f"/v1/cases/{case.id}/resolve", json={"outcome": outcome, "reason": reason,
                                                               "version": app.cases.get(case.id).version})
            assert r.status_code == 200, r.text

        abe = known(app, date_of_birth="1980-01-01", bank_account=ACCOUNT, email="abe@example.org")
        app.payments.award(abe, "jsa-new-style", "chg", start=date(2026, 4, 6))
        at(clock, datetime(2026, 4, 10, 9, tzinfo=timezone.utc))
        change = app.payments.request_bank_change(abe, "20-00-00", "55779944")
        code = told(app, abe)["bank-details-code"]["long"].split("enter this code: ")[1][:6]
        app.payments.confirm_bank_change(abe, change["id"], code)
        (case,) = app.cases.list(queue="verification", person=abe)
        resolve(case, "rejected", "The bank says the new account is in another name")
        message = told(app, abe)["check-rejected"]
        assert message["subject"] == "We could not accept the change to your bank details"
        assert "Their reason: The bank says the new account is in another name" in message["long"]
        assert "next payment stays held" in message["long"] and "/payments" in message["long"]

        cy = known(app, given_name="Cy", email="cy@example.org")
        checked = app.cases.open("verification", cy, "Check the payslip Cy sent", key="payslip-check")
        app.evidence.attach(cy, checked.id, "payslip.pdf", b"%PDF-1.4\n%payslip\n%%EOF\n")
        resolve(checked, "rejected", "The payslip is for a different employer")
        evidence = told(app, cy)["check-rejected"]
        assert evidence["subject"] == "We could not accept the documents you sent"
        assert "different employer" in evidence["long"] and "/evidence" in evidence["long"]

        fine = known(app, given_name="Di", email="di@example.org")
        ok = app.cases.open("verification", fine, "Check the payslip Di sent", key="payslip-ok")
        app.evidence.attach(fine, ok.id, "payslip.pdf", b"%PDF-1.4\n%payslip\n%%EOF\n")
        resolve(ok, "verified", "It matches HMRC's record")
        assert "check-rejected" not in told(app, fine)
        assert [m["template"] for m in app.messenger.of_person(abe)].count("check-rejected") == 1
    finally:
        app.store.close()
