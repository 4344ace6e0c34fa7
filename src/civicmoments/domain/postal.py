"""Postal addresses for letters, checked as GOV.UK Notify checks them before printing.

Notify's rules for a letter's address (its API documentation, "Send a letter"):

- 3 to 7 lines, the recipient's name counted (blank lines are left out);
- the last line is a real UK postcode, or, for a letter abroad, the name of a country;
- a British Forces Post Office address has a ``BFPO 1234`` line and ends in that line or a
  BFPO postcode (``BF1 …``);
- no line starts with ``@ ( ) = [ ] " \\ / , < > ~`` (printers read some as commands);
- "United Kingdom", "UK", "England", "Scotland", "Wales" or "Northern Ireland" after the
  postcode is left off, so the postcode is the last line.

``check_address`` returns the lines to print, with the postcode written as Royal Mail does
(``LS1 4AP``), or raises UndeliverableAddressError giving each reason.
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_LINES, MAX_LINES = 3, 7
FORBIDDEN_START = tuple('@()=[]"\\/,<>~“”')
UK_NAMES = frozenset({"united kingdom", "uk", "u.k.", "great britain", "gb", "england", "scotland", "wales",
                      "northern ireland", "cymru", "y deyrnas unedig"})
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{2}|GIR0AA", re.ASCII)
_BFPO = re.compile(r"BFPO\s*(?:C/O\s*)?[0-9]{1,4}", re.ASCII | re.IGNORECASE)


class UndeliverableAddressError(ValueError):
    """The address cannot be posted; ``reasons`` lists every rule it breaks."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def normalise_postcode(text: str) -> str:
    """``ls14ap`` → ``LS14AP``: upper case, no spaces."""
    return "".join(text.split()).upper()


def uk_postcode(text: str) -> str | None:
    """The postcode written as Royal Mail does (``LS1 4AP``), if ``text`` is the form of a real one."""
    code = normalise_postcode(text)
    if not _POSTCODE.fullmatch(code):
        return None
    return f"{code[:-3]} {code[-3:]}"


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """Country names, in English and Welsh, from the Unicode CLDR (through Babel)."""
    from babel import Locale

    names = set()
    for locale in ("en", "cy"):
        for code, name in Locale.parse(locale).territories.items():
            if code.isalpha() and len(code) == 2 and code not in ("GB", "ZZ", "EU", "EZ", "UN", "QO"):
                names.add(name.casefold())
    return frozenset(names)


def is_country(text: str) -> bool:
    return text.strip().casefold() in _countries()


def check_address(lines: list[str | None]) -> list[str]:
    """The lines to print, or UndeliverableAddressError with the reasons."""
    kept = [" ".join(str(line).split()) for line in lines if line and str(line).strip()]
    while kept and kept[-1].casefold() in UK_NAMES:
        kept.pop()
    reasons = []
    bad_start = [line for line in kept if line.startswith(FORBIDDEN_START)]
    if bad_start:
        reasons.append(f"a line starts with a character printers cannot take ({bad_start[0][0]}); "
                       "lines must not start with @ ( ) = [ ] \" \\ / , < > ~")
    if kept:
        last = kept[-1]
        bfpo = any(_BFPO.fullmatch(line) for line in kept)
        postcode = uk_postcode(last)
        if postcode is not None:
            kept[-1] = postcode
        elif bfpo and _BFPO.fullmatch(last):
            kept[-1] = last.upper()
        elif not is_country(last):
            reasons.append(f"the last line, {last!r}, is neither a real UK postcode nor a country")
    if len(kept) < MIN_LINES:
        reasons.append(f"an address needs at least {MIN_LINES} lines (the name, at least one line of "
                       f"address, and the postcode); this has {len(kept)}")
    if len(kept) > MAX_LINES:
        reasons.append(f"an address has at most {MAX_LINES} lines; this has {len(kept)}")
    if reasons:
        raise UndeliverableAddressError(reasons)
    return kept
