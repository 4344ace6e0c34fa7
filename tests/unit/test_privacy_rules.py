"""The pure rules of the registry and the privacy gate."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from civicmoments.adapters.crypto import FieldCipher, KeyConfigurationError, Pseudonymiser
from civicmoments.domain import audit as A
from civicmoments.domain.consent import Agreement, ConsentModel, ConsentRecord, ConsentState, Mode, Purpose, permits
from civicmoments.domain.disclosure import (
    ConsentNotGivenError,
    NoAgreementError,
    NothingAgreedError,
    UnknownPurposeError,
    authorise,
)
from civicmoments.domain.people import AttributeSpec, Basis, Fact, Tier, WrongValueTypeError, profile

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


def fact(attr, value, tier, at=0):
    when = T0 + timedelta(days=at)
    return Fact("p", attr, value, "org", Basis.REGISTER, tier, when, when)


def test_the_profile_prefers_the_higher_tier_then_the_newer_fact():
    best = profile([fact("postcode", "A", Tier.GOLD, 0), fact("postcode", "B", Tier.BRONZE, 5),
                    fact("email", "old", Tier.BRONZE, 0), fact("email", "new", Tier.BRONZE, 1)])
    assert best["postcode"].value == "A"
    assert best["email"].value == "new"


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("string", "x", 3), ("integer", 3, "3"), ("integer", 3, True), ("number", 2.5, "2.5"),
    ("boolean", True, "yes"), ("date", "2024-02-29", "2023-02-29"),
])
def test_values_are_checked_against_their_type(kind, good, bad):
    spec = AttributeSpec("a", "d", kind)
    assert spec.check(good) == good
    with pytest.raises(WrongValueTypeError, match="a must be"):
        spec.check(bad)


def test_patterns_and_enums():
    ni = AttributeSpec("ni_number", "identity", "string", pattern="[A-Z]{2}[0-9]{6}[A-D]")
    assert ni.check("SJ123456A") == "SJ123456A"
    with pytest.raises(WrongValueTypeError, match="matching"):
        ni.check("123")
    with pytest.raises(WrongValueTypeError, match="one of the strings app, sms"):
        AttributeSpec("c", "contact", "enum", values=("app", "sms")).check("fax")


def purpose(model):
    return Purpose("p", "P", "basis", model, "1")


def record(state, at=0):
    return ConsentRecord("r", "person", "p", "1", state, T0 + timedelta(days=at), "api")


@pytest.mark.parametrize(("model", "state", "allowed"), [
    (ConsentModel.OPT_IN, None, False),
    (ConsentModel.OPT_IN, ConsentState.GIVEN, True),
    (ConsentModel.OPT_IN, ConsentState.WITHDRAWN, False),
    (ConsentModel.OPT_IN, ConsentState.REFUSED, False),
    (ConsentModel.OPT_OUT, None, True),
    (ConsentModel.OPT_OUT, ConsentState.REFUSED, False),
    (ConsentModel.OPT_OUT, ConsentState.WITHDRAWN, False),
    (ConsentModel.NOTICE_ONLY, None, True),
    (ConsentModel.NOTICE_ONLY, ConsentState.WITHDRAWN, False),
    (ConsentModel.LEGAL_OBLIGATION, ConsentState.WITHDRAWN, True),
])
def test_each_consent_model(model, state, allowed):
    ok, why = permits(purpose(model), record(state) if state else None)
    assert ok is allowed and why


def agreement(attrs=("a", "b"), revoked=False, mode=Mode.PSEUDONYMISED):
    return Agreement("ag", "partner", "p", attrs, mode, 30, 2, T0, T0 if revoked else None)


def test_the_gate_rules_name_what_was_broken():
    opt_in = purpose(ConsentModel.OPT_IN)
    with pytest.raises(UnknownPurposeError):
        authorise("partner", None, "x", ["a"], agreement(), None, "nope")
    with pytest.raises(NoAgreementError):
        authorise("partner", opt_in, "x", ["a"], None, record(ConsentState.GIVEN))
    with pytest.raises(NoAgreementError):
        authorise("partner", opt_in, "x", ["a"], agreement(revoked=True), record(ConsentState.GIVEN))
    with pytest.raises(ConsentNotGivenError, match="consent was withdrawn"):
        authorise("partner", opt_in, "x", ["a"], agreement(), record(ConsentState.WITHDRAWN))
    with pytest.raises(NothingAgreedError):
        authorise("partner", opt_in, "x", ["z"], agreement(), record(ConsentState.GIVEN))


def test_the_gate_minimises_to_the_agreed_attributes():
    auth = authorise("partner", purpose(ConsentModel.OPT_IN), "x", ["a", "secret", "b"], agreement(),
                     record(ConsentState.GIVEN))
    assert auth.attributes == ("a", "b") and auth.withheld == ("secret",)
    assert (auth.agreement, auth.agreement_version, auth.mode) == ("ag", 2, Mode.PSEUDONYMISED)


def chain(n=5):
    return A.chain(A.GENESIS, 1, [{"n": i} for i in range(1, n + 1)])


def test_an_intact_chain_verifies():
    entries = chain()
    assert A.verify(entries, A.Checkpoint(5, entries[-1].hash)) == []


def test_each_kind_of_tampering_is_named():
    e = chain()
    edited = e[:2] + [A.Entry(3, e[2].prev, e[2].hash, {"n": 99})] + e[3:]
    assert any("entry 3 was edited" in p for p in A.verify(edited, None))
    deleted = e[:2] + e[3:]
    assert any("entry 3 is missing: deleted" in p for p in A.verify(deleted, None))
    reordered = [e[0], e[2], e[1], e[3], e[4]]
    assert any("reordered" in p for p in A.verify(reordered, None))
    truncated = e[:3]
    assert any("cut short" in p for p in A.verify(truncated, A.Checkpoint(5, e[-1].hash)))
    rewritten = A.chain(A.GENESIS, 1, [{"n": 1}, {"n": 2}, {"n": 7}, {"n": 4}, {"n": 5}])
    assert A.verify(rewritten, None) == []  # a consistent rewrite fools the chain alone...
    assert any("signed checkpoint" in p for p in A.verify(rewritten, A.Checkpoint(5, e[-1].hash)))  # not this


def test_pseudonyms_are_stable_per_pair_and_unlinkable_across_pairs():
    ps = Pseudonymiser({1: b"k" * 32})
    a1 = ps.pseudonym("jobmatch", "employment-support", "person-1")
    assert a1 == ps.pseudonym("jobmatch", "employment-support", "person-1")
    assert a1 != ps.pseudonym("training-co", "employment-support", "person-1")
    assert a1 != ps.pseudonym("jobmatch", "fraud-prevention", "person-1")
    assert a1 != ps.pseudonym("jobmatch", "employment-support", "person-2")
    assert "person-1" not in a1
    assert hashlib.sha256(b"person-1").hexdigest()[:40] not in a1
    other_key = Pseudonymiser({1: b"x" * 32})
    assert other_key.pseudonym("jobmatch", "employment-support", "person-1") != a1
    rotated = Pseudonymiser({1: b"k" * 32, 2: b"n" * 32})
    assert rotated.pseudonym("jobmatch", "employment-support", "person-1").startswith("ps2_")
    assert rotated.pseudonym("jobmatch", "employment-support", "person-1", version=1) == a1


def test_sensitive_values_are_sealed_to_their_person_and_attribute():
    cipher = FieldCipher({1: b"k" * 32})
    token = cipher.encrypt("20-00-00 12345678", "p1|bank_account")
    assert "12345678" not in token and token.startswith("enc:1:")
    assert cipher.decrypt(token, "p1|bank_account") == "20-00-00 12345678"
    with pytest.raises(KeyConfigurationError):
        cipher.decrypt(token, "p2|bank_account")  # moved to another person: refused
    with pytest.raises(KeyConfigurationError):
        FieldCipher({1: b"x" * 32}).decrypt(token, "p1|bank_account")
