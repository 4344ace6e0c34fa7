"""Sort codes and account numbers: the format, and Vocalink's modulus check with its published test cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicmoments.adapters.modulus import tables
from civicmoments.domain.bank_accounts import BankDetailsError, check, clean, last_four, modulus_ok

PACK = Path(__file__).resolve().parents[2] / "packs" / "uk"

# Vocalink, "Validating account numbers" v3.10, section 6 (test cases 1 to 34)
VOCALINK = [
    ("089999", "66374958", True), ("107999", "88837491", True), ("202959", "63748472", True),
    ("871427", "46238510", True), ("872427", "46238510", True), ("871427", "09123496", True),
    ("871427", "99123496", True), ("820000", "73688637", True), ("827999", "73988638", True),
    ("827101", "28748352", True), ("134020", "63849203", True), ("118765", "64371389", True),
    ("200915", "41011166", True), ("938611", "07806039", True), ("938600", "42368003", True),
    ("938063", "55065200", True), ("772798", "99345694", True), ("086090", "06774744", True),
    ("309070", "02355688", True), ("309070", "12345668", True), ("309070", "12345677", True),
    ("309070", "99345694", True), ("938063", "15764273", False), ("938063", "15764264", False),
    ("938063", "15763217", False), ("118765", "64371388", False), ("203099", "66831036", False),
    ("203099", "58716970", False), ("089999", "66374959", False), ("107999", "88837493", False),
    ("074456", "12345112", True), ("070116", "34012583", True), ("074456", "11104102", True),
    ("180002", "00000190", True),
]


@pytest.mark.parametrize(("number", "case"), list(enumerate(VOCALINK, 1)))
def test_vocalinks_published_test_case(number, case):
    sort_code, account, valid = case
    assert modulus_ok(sort_code, account, tables(PACK)) is valid, f"Vocalink test case {number}"


def test_the_table_is_dated_and_covers_the_main_ranges():
    t = tables(PACK)
    assert t.dated == "2017-11-06"
    assert len(t.weightings) > 1000
    assert [w.algorithm for w in t.for_sort_code("070116")] == ["MOD11", "MOD10"]
    assert t.substitutions["938173"] == "938017"


@pytest.mark.parametrize(("sort_code", "account", "field", "words"), [
    ("", "12345678", "sort_code", "Enter a sort code"),
    ("12-34-5", "12345678", "sort_code", "Enter a valid sort code like 309430"),
    ("12345a", "12345678", "sort_code", "Enter a valid sort code like 309430"),
    ("089999", "", "account_number", "Enter an account number"),
    ("089999", "12345", "account_number", "Enter a valid account number like 00733445"),
    ("089999", "12345678901", "account_number", "Enter a valid account number like 00733445"),
    ("089999", "66374959", "account_number", "Check the sort code and account number"),
])
def test_bad_details_are_refused_naming_the_field(sort_code, account, field, words):
    with pytest.raises(BankDetailsError) as err:
        check(sort_code, account, tables(PACK))
    assert err.value.field == field and err.value.message.startswith(words)


def test_spaces_and_hyphens_are_ignored_and_only_four_digits_are_shown():
    assert clean("08-99 99", "6637 4958") == ("089999", "66374958")
    assert check("08-99-99", "66374958", tables(PACK)) == ("089999", "66374958")
    assert last_four("66374958") == "4958"
