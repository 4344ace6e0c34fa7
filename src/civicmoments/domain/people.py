"""People and facts. Facts are only appended; a profile is their projection: for each
attribute, the best fact (highest tier, then newest)."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from typing import Any


class Tier(str, enum.Enum):
    GOLD = "gold"  # an authoritative register
    SILVER = "silver"  # verified
    BRONZE = "bronze"  # self-declared


TIER_RANK = {Tier.GOLD: 3, Tier.SILVER: 2, Tier.BRONZE: 1}


class Basis(str, enum.Enum):
    REGISTER = "register"
    VERIFIED = "verified"
    DECLARED = "declared"
    DERIVED = "derived"
    PARTNER = "partner"
    REPORTED = "reported"  # an organisation reported it in a life event (an employer's redundancy report)


@dataclass(frozen=True)
class Assurance:
    """A pack rule: facts from this organisation (name glob) or this event type (glob), on this
    basis, get this tier. ``says`` is the plain words shown with the fact."""

    name: str
    basis: Basis
    tier: Tier
    organisation: str | None = None
    event: str | None = None
    says: str = ""


def assured(rules: Iterable[Assurance], basis: Basis, organisation: str | None = None,
            event: str | None = None) -> Assurance | None:
    """The first rule that fits a fact's source and basis; None when the pack says nothing.

    The tier comes from who reported the fact and how, never from the platform recording it.
    """
    for r in rules:
        if r.basis is not basis:
            continue
        if r.organisation is not None and (organisation is None or not fnmatchcase(organisation, r.organisation)):
            continue
        if r.event is not None and (event is None or not fnmatchcase(event, r.event)):
            continue
        return r
    return None


class UnknownAttributeError(ValueError):
    """The attribute is not declared in any data domain of the pack."""


class WrongValueTypeError(ValueError):
    """The value does not have the attribute's declared type; ``expected`` says what it should be."""

    expected: str = ""


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    domain: str
    type: str  # string, integer, number, boolean, date, enum
    sensitive: bool = False
    values: tuple[str, ...] = ()
    pattern: str | None = None
    description: str = ""
    scheme: str | None = None  # an identifier scheme whose issuer's rules the value must keep
    newest_wins: bool = False  # the person is the authority (a contact detail they confirmed): newest fact, any tier

    def check(self, value: Any) -> Any:
        """Return the value in its stored form, or raise WrongValueTypeError saying what was expected.

        JSON types map to attribute types as JSON Schema does: an integer is a number with no
        fraction (``45.0`` is 45); numbers are finite; a date is a string ``YYYY-MM-DD``
        (ISO 8601 calendar date, ASCII digits), never a spreadsheet's day count.
        """
        expected = self.expected()

        def wrong(detail: str = "") -> WrongValueTypeError:
            error = WrongValueTypeError(f"{self.name} must be {expected}; got {json_type(value)} {value!r}"
                                        + (f" ({detail})" if detail else ""))
            error.expected = expected
            return error

        t = self.type
        if t == "string":
            if not isinstance(value, str):
                raise wrong()
            if self.pattern and not re.fullmatch(self.pattern, value, re.ASCII):
                raise wrong(f"it does not match {self.pattern}")
            return value
        if t == "integer":
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                return int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise wrong()
            return value
        if t == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong()
            if isinstance(value, float) and not math.isfinite(value):
                raise wrong("numbers must be finite")
            return value
        if t == "boolean":
            if not isinstance(value, bool):
                raise wrong()
            return value
        if t == "date":
            if not isinstance(value, str):
                raise wrong()
            try:
                return parse_date(value).isoformat()
            except ValueError as exc:
                raise wrong(str(exc)) from None
        if t == "enum":
            if not isinstance(value, str) or value not in self.values:
                raise wrong()
            return value
        raise wrong()

    def expected(self) -> str:
        """What a value of this attribute is, in words and JSON types."""
        return {
            "string": "a string" + (f" matching {self.pattern}" if self.pattern else ""),
            "integer": "an integer (a JSON number with no fraction)",
            "number": "a number",
            "boolean": "true or false",
            "date": "a date, a string written YYYY-MM-DD",
            "enum": "one of the strings " + ", ".join(self.values),
        }.get(self.type, f"a {self.type}")


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_date(text: str) -> date:
    """A calendar date written ``YYYY-MM-DD`` (RFC 3339 full-date), and nothing else.

    Raises ValueError: other ISO 8601 forms (``20261121``, ``2026-W47-6``) and other digits refused.
    """
    if not _DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a day of the calendar") from None


def json_type(value: Any) -> str:
    """The JSON type a decoded value came as: string, integer, number, boolean, null, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True)
class Fact:
    person: str
    attribute: str
    value: Any
    source: str  # organisation id
    basis: Basis
    tier: Tier
    observed_at: datetime
    valid_from: datetime
    id: str = ""

    def rank(self) -> tuple[int, datetime, datetime, int, str]:
        """Higher is better: tier, then newest; facts observed at the same instant by the order
        they were recorded (``id`` is the store's sequence number, so compared as a number)."""
        return (TIER_RANK[self.tier], self.observed_at, self.valid_from, len(self.id), self.id)


def profile(facts: Iterable[Fact], newest_wins: Collection[str] = ()) -> dict[str, Fact]:
    """The best fact for each attribute: highest tier, then newest. For attributes in
    ``newest_wins`` (how to reach the person, which only they can confirm) the newest fact wins
    whatever its tier."""
    best: dict[str, Fact] = {}
    for fact in facts:
        current = best.get(fact.attribute)
        if current is None:
            best[fact.attribute] = fact
        elif fact.attribute in newest_wins:
            if fact.rank()[1:] > current.rank()[1:]:
                best[fact.attribute] = fact
        elif fact.rank() > current.rank():
            best[fact.attribute] = fact
    return best


def values(facts: Mapping[str, Fact]) -> dict[str, Any]:
    return {k: f.value for k, f in facts.items()}
