"""People and facts. Facts are only appended; a profile is their projection: for each
attribute, the best fact (highest tier, then newest)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
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
    """The value does not have the attribute's declared type."""


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    domain: str
    type: str  # string, integer, number, boolean, date, enum
    sensitive: bool = False
    values: tuple[str, ...] = ()
    pattern: str | None = None
    description: str = ""

    def check(self, value: Any) -> Any:
        """Return the value in its stored form, or raise WrongValueTypeError saying what was expected."""
        def wrong(expected: str) -> WrongValueTypeError:
            return WrongValueTypeError(f"{self.name} must be {expected}; got {value!r}")

        t = self.type
        if t == "string":
            if not isinstance(value, str):
                raise wrong("text")
            if self.pattern and not re.fullmatch(self.pattern, value):
                raise wrong(f"text matching {self.pattern}")
            return value
        if t == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise wrong("a whole number")
            return value
        if t == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong("a number")
            return value
        if t == "boolean":
            if not isinstance(value, bool):
                raise wrong("true or false")
            return value
        if t == "date":
            try:
                return date.fromisoformat(value).isoformat() if isinstance(value, str) else wrong("a date")
            except ValueError:
                raise wrong("a date written YYYY-MM-DD") from None
        if t == "enum":
            if value not in self.values:
                raise wrong("one of " + ", ".join(self.values))
            return value
        raise wrong(f"a {t}")


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

    def rank(self) -> tuple[int, datetime, datetime, str]:
        return (TIER_RANK[self.tier], self.observed_at, self.valid_from, self.id)


def profile(facts: Iterable[Fact]) -> dict[str, Fact]:
    """The best fact for each attribute: highest tier, then newest."""
    best: dict[str, Fact] = {}
    for fact in facts:
        current = best.get(fact.attribute)
        if current is None or fact.rank() > current.rank():
            best[fact.attribute] = fact
    return best


def values(facts: Mapping[str, Fact]) -> dict[str, Any]:
    return {k: f.value for k, f in facts.items()}
