"""The rules real-world input is read by: RFC 3339 times, HMRC's NI number rules, names as
compared, letter addresses as Notify checks them, and attribute types."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from civicmoments.domain.clock import InvalidTimestampError, parse_rfc3339
from civicmoments.domain.identifiers import InvalidIdentifierError, check
from civicmoments.domain.names import normalise_name
from civicmoments.domain.people import AttributeSpec, WrongValueTypeError, parse_date
from civicmoments.domain.postal import UndeliverableAddressError, check_address

UTC = timezone.utc


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-21T09:00:00Z", datetime(2026, 11, 21, 9, tzinfo=UTC)),
    ("2026-11-21t09:00:00z", datetime(2026, 11, 21, 9, tzinfo=UTC)),  # lower case t and z (5.6, NOTE)
    ("2026-11-21T10:00:00+01:00", datetime(2026, 11, 21, 9, tzinfo=UTC)),
    ("2026-11-21T03:30:00-05:30", datetime(2026, 11, 21, 9, tzinfo=UTC)),
    ("2026-11-21T09:00:00-00:00", datetime(2026, 11, 21, 9, tzinfo=UTC)),  # unknown local offset (4.3)
    ("2026-11-21T09:00:00.5Z", datetime(2026, 11, 21, 9, 0, 0, 500000, tzinfo=UTC)),
    ("2026-11-21T09:00:00.123456789Z", datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=UTC)),
    ("2028-02-29T00:00:00Z", datetime(2028, 2, 29, tzinfo=UTC)),
    ("2026-12-31T23:59:60Z", datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),  # a leap second
])
def test_rfc3339_date_times_are_read(text, expected):
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", [
    "20261121T090000Z",              # ISO 8601 basic format
    "2026-11-21 09:00:00Z",          # space for T
    "2026-11-21T09:00Z",             # no seconds
    "2026-11-21T09:00:00",           # no offset
    "2026-11-21T09:00:00+0100",      # offset without colon
    "2026-11-21T09:00:00+01",        # offset without minutes
    "2026-11-21",                    # a date only
    "2026-W47-6T09:00:00Z",          # week date
    "2026-02-29T09:00:00Z",          # not a leap year
    "2026-13-01T09:00:00Z",
    "2026-11-21T24:00:00Z",
    "2026-11-21T09:60:00Z",
    "2026-11-21T09:00:61Z",
    "2026-11-21T09:00:00+24:00",
    "2026-11-21T09:00:00.Z",         # a fraction needs digits
    "٢٠٢٦-١١-٢١T09:00:00Z",          # other digits
    " 2026-11-21T09:00:00Z",
    "0001-01-01T00:00:00+01:00",     # before year 1 in UTC
])
def test_what_rfc3339_does_not_allow_is_refused(text):
    with pytest.raises(InvalidTimestampError):
        parse_rfc3339(text)


@pytest.mark.parametrize(("given", "stored"), [
    ("SJ123456A", "SJ123456A"), ("sj 12 34 56 a", "SJ123456A"), ("AB123456D", "AB123456D"),
])
def test_ni_numbers_are_kept_in_hmrcs_form(given, stored):
    assert check("ni_number", given) == stored


@pytest.mark.parametrize(("value", "rule"), [
    ("ZZ999999A", "ni-number-prefix-not-allocated"), ("GB123456A", "ni-number-prefix-not-allocated"),
    ("BG123456A", "ni-number-prefix-not-allocated"), ("KN123456A", "ni-number-prefix-not-allocated"),
    ("NK123456A", "ni-number-prefix-not-allocated"), ("NT123456A", "ni-number-prefix-not-allocated"),
    ("TN123456A", "ni-number-prefix-not-allocated"),
    *[(f"{c}A123456A", "ni-number-first-letter") for c in "DFIQUV"],
    *[(f"A{c}123456A", "ni-number-second-letter") for c in "DFIOQUV"],
    ("AB123456E", "ni-number-suffix"), ("AB12345A", "ni-number-format"), ("AB1234567A", "ni-number-format"),
    ("AB١٢٣٤٥٦A", "ni-number-format"),
])
def test_ni_numbers_hmrc_never_issues_are_refused_naming_the_rule(value, rule):
    with pytest.raises(InvalidIdentifierError) as info:
        check("ni_number", value)
    assert info.value.rule == rule


def test_other_schemes_by_their_issuers_rules():
    assert check("nhs_number", "943 476 5919") == "9434765919"
    with pytest.raises(InvalidIdentifierError, match="NHS number"):
        check("nhs_number", "9434765918")
    assert check("staff_number", " E-1001 ") == "E-1001"
    for scheme, value in (("staff_number", ""), ("staff_number", 12), ("Bad Scheme", "x")):
        with pytest.raises(InvalidIdentifierError):
            check(scheme, value)


@pytest.mark.parametrize(("a", "b"), [
    ("O’Brien", "O'Brien"), ("o‘brien", "O'Brien"), ("Llewellyn–Jones", "Llewellyn-Jones"),
    ("Llewellyn‐Jones", "LLEWELLYN-JONES"), ("Ａｂｅ", "Abe"), ("  Mary   Ann ", "mary ann"),
])
def test_names_compare_in_one_written_form(a, b):
    assert normalise_name(a) == normalise_name(b)


def test_accents_still_tell_names_apart():
    assert normalise_name("Zoë") != normalise_name("Zoe")


def test_a_uk_address_is_printed_with_its_postcode_last():
    assert check_address(["Dee Hale", "2 Quay St", "Cardiff", "cf101ep"]) == ["Dee Hale", "2 Quay St", "Cardiff",
                                                                            "CF10 1EP"]
    assert check_address(["Dee Hale", "2 Quay St", "CF10 1EP", "United Kingdom"])[-1] == "CF10 1EP"
    # BFPO: the number line may end the address, or a BF1 postcode may
    assert check_address(["Pte A Jones", "HQ Unit", "BFPO 801"])[-1] == "BFPO 801"
    assert check_address(["Pte A Jones", "HQ Unit", "BFPO 801", "BF1 4FB"])[-1] == "BF1 4FB"
    assert check_address(["M. Dupont", "1 rue de la Paix", "75002 Paris", "France"])[-1] == "France"


@pytest.mark.parametrize(("lines", "reason"), [
    (["Abe Jones", "NOT A POSTCODE"], "neither a real UK postcode nor a country"),
    (["Abe Jones", "NOT A POSTCODE"], "at least 3 lines"),
    (["Abe Jones", "LS1 4AP"], "at least 3 lines"),
    (["Abe Jones", "", None, "LS1 4AP"], "this has 2"),
    (["Abe Jones", "4 Mill Lane", "Leeds", "LS1 4AQQ"], "neither a real UK postcode"),
    (["Abe Jones", "4 Mill Lane", "Leeds", "LS1 4CP"], "neither a real UK postcode"),  # C is never in the inward code
    (["Abe Jones", "=HYPERLINK()", "Leeds", "LS1 4AP"], "printers cannot take"),
    (["A", "B", "C", "D", "E", "F", "G", "LS1 4AP"], "at most 7 lines"),
])
def test_an_address_that_cannot_be_posted_says_why(lines, reason):
    with pytest.raises(UndeliverableAddressError) as info:
        check_address(lines)
    assert reason in str(info.value)


def test_bfpo_line_that_is_not_last_still_needs_a_postcode():
    with pytest.raises(UndeliverableAddressError):
        check_address(["Pte A Jones", "BFPO 801", "HQ Unit"])


ATTRIBUTES = [
    AttributeSpec("given_name", "identity", "string"),
    AttributeSpec("household_size", "household", "integer"),
    AttributeSpec("weekly_rent", "housing", "number"),
    AttributeSpec("jsa_claimant", "benefits", "boolean"),
    AttributeSpec("date_of_birth", "identity", "date"),
    AttributeSpec("preferred_channel", "contact", "enum", values=("app", "sms")),
]
JSON_VALUES = {"string": "x", "integer": 29281, "number": 1.5, "boolean": True, "null": None, "array": [1],
               "object": {"a": 1}}
ACCEPTS = {"string": {"string"}, "integer": {"integer"}, "number": {"integer", "number"}, "boolean": {"boolean"},
           "date": set(), "enum": set()}


@pytest.mark.parametrize("spec", ATTRIBUTES, ids=lambda s: s.type)
@pytest.mark.parametrize("kind", list(JSON_VALUES))
def test_every_wrong_json_type_is_refused_saying_what_was_expected(spec, kind):
    value = JSON_VALUES[kind]
    if kind in ACCEPTS[spec.type]:
        assert spec.check(value) == value
        return
    with pytest.raises(WrongValueTypeError) as info:
        spec.check(value)
    assert info.value.expected and f"got {kind}" in str(info.value)


def test_whole_numbers_finite_numbers_and_real_dates():
    assert AttributeSpec("n", "d", "integer").check(45.0) == 45
    for bad in (45.5, math.nan, math.inf):
        with pytest.raises(WrongValueTypeError):
            AttributeSpec("n", "d", "integer").check(bad)
    for bad in (math.nan, -math.inf):
        with pytest.raises(WrongValueTypeError, match="finite"):
            AttributeSpec("n", "d", "number").check(bad)
    for text in ("20040719", "2004-W29-1", "2004-02-30", "٢٠٠٤-٠٧-١٩"):
        with pytest.raises(ValueError):
            parse_date(text)
    assert parse_date("2004-07-19").isoformat() == "2004-07-19"
