"""Identifier schemes and their issuers' rules.

A person's identifiers are checked by the rules of the scheme that issues them, so a number
no issuer would ever give out is refused rather than recorded as a fact:

- ``ni_number``: a National Insurance number, by HMRC's rules (National Insurance Manual
  NIM39110): two prefix letters, six digits, a suffix letter A, B, C or D. The letters D, F,
  I, Q, U and V are never used as either prefix letter, O never as the second; the prefixes
  BG, GB, KN, NK, NT, TN and ZZ are not allocated (TN marks a temporary number, ZZ a
  placeholder). Spaces are ignored and letters are upper-cased.
- ``nhs_number``: ten digits with the NHS modulus 11 check digit (python-stdnum).
- ``sa_utr``: HMRC's ten-digit Unique Taxpayer Reference with its check digit (python-stdnum).
- any other scheme (an employer's staff number ...): printable text, 1 to 200 characters.
"""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError as _StdnumError
from stdnum.gb import nhs, utr

NOT_ALLOCATED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
NEVER_USED = frozenset("DFIQUV")
_NINO = re.compile(r"[A-Z]{2}[0-9]{6}[A-Z]", re.ASCII)


class InvalidIdentifierError(ValueError):
    """The identifier breaks its scheme's rule; ``rule`` names the rule."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


def _ni_number(value: str) -> str:
    nino = "".join(value.split()).upper()
    if not _NINO.fullmatch(nino):
        raise InvalidIdentifierError(
            f"{value!r} is not written as a National Insurance number: two letters, six digits and a "
            "letter A to D, such as AB 12 34 56 C", "ni-number-format")
    prefix, suffix = nino[:2], nino[8]
    if prefix[0] in NEVER_USED:
        raise InvalidIdentifierError(
            f"{value!r} starts with {prefix[0]}: HMRC never uses D, F, I, Q, U or V as the first letter",
            "ni-number-first-letter")
    if prefix[1] in NEVER_USED | {"O"}:
        raise InvalidIdentifierError(
            f"{value!r} has {prefix[1]} second: HMRC never uses D, F, I, O, Q, U or V as the second letter",
            "ni-number-second-letter")
    if prefix in NOT_ALLOCATED:
        raise InvalidIdentifierError(
            f"{value!r} has the prefix {prefix}, which HMRC does not allocate "
            "(BG, GB, KN, NK, NT, TN and ZZ are never issued)", "ni-number-prefix-not-allocated")
    if suffix not in "ABCD":
        raise InvalidIdentifierError(f"{value!r} ends with {suffix}: the last letter is A, B, C or D",
                                     "ni-number-suffix")
    return nino


def _stdnum(module, what: str, rule: str):
    def check(value: str) -> str:
        try:
            return module.validate(value)
        except _StdnumError as exc:
            raise InvalidIdentifierError(f"{value!r} is not a valid {what}: {exc}", rule) from None
    return check


SCHEMES = {
    "ni_number": _ni_number,
    "nhs_number": _stdnum(nhs, "NHS number", "nhs-number-check-digit"),
    "sa_utr": _stdnum(utr, "Unique Taxpayer Reference", "utr-check-digit"),
}
_SCHEME_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}", re.ASCII)


def check(scheme: str, value: object) -> str:
    """The identifier in its standard form (``AB123456C``), or InvalidIdentifierError naming the rule."""
    if not isinstance(scheme, str) or not _SCHEME_NAME.fullmatch(scheme):
        raise InvalidIdentifierError(f"scheme {scheme!r} must be lower-case letters, digits and _ "
                                     "(at most 50), such as ni_number", "scheme-name")
    if not isinstance(value, str):
        raise InvalidIdentifierError(f"the {scheme} identifier must be a string; got {value!r}", "identifier-text")
    rule = SCHEMES.get(scheme)
    if rule is not None:
        return rule(value)
    text = value.strip()
    if not text or len(text) > 200 or not text.isprintable():
        raise InvalidIdentifierError(f"the {scheme} identifier must be printable text of 1 to 200 characters",
                                     "identifier-text")
    return text
