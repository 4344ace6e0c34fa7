"""The registry service: people, identifiers and facts, validated against the pack's domains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..domain import identifiers as identifier_rules
from ..domain import people as P
from ..domain.clock import Clock, parse_time
from ..domain.ids import uuid7
from ..domain.organisations import Organisation
from .errors import (
    DomainNotAuthorisedError,
    IdentifierHeldError,
    InvalidIdentifierError,
    UnknownAttributeError,
    UnknownPersonError,
    WrongValueTypeError,
)

SELF = "self"  # the source of facts a person declares about themselves
MASK = "[sensitive]"
HOUSEHOLD_ROLES = ("adult", "partner", "parent", "child", "other")


def match_keys(attribute: str, value: Any) -> list[str]:
    """Blocking keys for identity matching: records sharing a key are compared."""
    if attribute == "date_of_birth":
        return [f"dob:{value}"]
    if attribute == "postcode":
        return [f"pc:{normalise_postcode(value)}"]
    return []


def normalise_postcode(value: str) -> str:
    return "".join(str(value).split()).upper()


@dataclass(frozen=True)
class NewFact:
    attribute: str
    value: Any
    basis: P.Basis
    tier: P.Tier
    observed_at: Any = None
    valid_from: Any = None


class Registry:
    def __init__(self, store, attributes: Mapping[str, P.AttributeSpec], cipher, clock: Clock) -> None:
        self.store, self.attributes, self.cipher, self.clock = store, attributes, cipher, clock
        self._newest_wins = frozenset(name for name, spec in attributes.items() if spec.newest_wins)

    def check_identifiers(self, identifiers: Mapping[str, Any]) -> dict[str, str]:
        """Each identifier in its scheme's standard form; InvalidIdentifierError (422) names the rule."""
        if not isinstance(identifiers, Mapping):
            raise InvalidIdentifierError("'identifiers' maps schemes to identifier strings")
        out, errors = {}, []
        for scheme, value in identifiers.items():
            try:
                out[scheme] = identifier_rules.check(scheme, value)
            except identifier_rules.InvalidIdentifierError as exc:
                errors.append({"pointer": f"/identifiers/{scheme}", "message": str(exc), "rule": exc.rule})
        if errors:
            raise InvalidIdentifierError("; ".join(e["message"] for e in errors), errors)
        return out

    def add_person(self, identifiers: Mapping[str, Any] | None = None) -> str:
        """Register a person with identifiers per scheme; returns the new person's id.

        Raises InvalidIdentifierError (422) for an identifier its issuer would never give out, and
        IdentifierHeldError (409) naming the person who already holds one: nothing is dropped.
        """
        ids = self.check_identifiers(identifiers or {})
        self._refuse_held(ids)
        person = uuid7()
        try:
            self.store.add_people([{"id": person, "created_at": self.clock.now(), "merged_into": None}],
                                  [{"scheme": s, "value": v, "person_id": person} for s, v in ids.items()],
                                  ignore_conflicts=False)
        except IntegrityError:  # another request took one of them in the meantime
            self._refuse_held(ids)
            raise
        return person

    def _refuse_held(self, ids: Mapping[str, str]) -> None:
        held = [(s, v, p) for s, v in ids.items() if (p := self.store.by_identifier(s, v)) is not None]
        if held:
            raise IdentifierHeldError(
                "; ".join(f"{s} {v} is already held by person {p}" for s, v, p in held)
                + ": look that person up instead of registering them again",
                [{"pointer": f"/identifiers/{s}", "message": f"held by person {p}", "person": p}
                 for s, v, p in held])

    def require(self, person: str) -> dict[str, Any]:
        found = self.store.person(person)
        if found is None:
            raise UnknownPersonError(f"no person {person!r}")
        return found

    def spec(self, attribute: str) -> P.AttributeSpec:
        spec = self.attributes.get(attribute)
        if spec is None:
            raise UnknownAttributeError(f"attribute {attribute!r} is not declared in any data domain")
        return spec

    def validate(self, source: Organisation | None, raw: Mapping[str, Any], where: str = "",
                 value_at: str | None = None) -> tuple[P.AttributeSpec, NewFact]:
        """Check one fact; ``where`` is its JSON pointer in the request, named in each error, and
        ``value_at`` its value's (default ``where/value``)."""
        value_at = value_at or f"{where}/value"
        if not isinstance(raw, Mapping) or "attribute" not in raw or "value" not in raw:
            raise WrongValueTypeError("a fact is an object with 'attribute' and 'value'",
                                      [{"pointer": where or "/", "message": "needs 'attribute' and 'value'"}])
        if not isinstance(raw["attribute"], str):
            raise UnknownAttributeError(f"'attribute' must be a string naming a declared attribute; "
                                        f"got {P.json_type(raw['attribute'])}",
                                        [{"pointer": f"{where}/attribute", "message": "must be a string"}])
        spec = self.spec(raw["attribute"])
        if source is not None and not (source.may(f"facts:{spec.domain}") or source.may("facts:*")):
            raise DomainNotAuthorisedError(
                f"organisation {source.name!r} may not record {spec.domain} facts such as {spec.name!r}; "
                f"it needs the scope facts:{spec.domain}")
        try:
            value = spec.check(raw["value"])
        except P.WrongValueTypeError as exc:
            raise WrongValueTypeError(f"{value_at}: {exc}", [{"pointer": value_at, "message": str(exc),
                                                               "expected": exc.expected}]) from None
        if spec.scheme:
            try:
                value = identifier_rules.check(spec.scheme, value)
            except identifier_rules.InvalidIdentifierError as exc:
                raise InvalidIdentifierError(f"{value_at}: {exc}", [{"pointer": value_at,
                                                                    "message": str(exc), "rule": exc.rule}]) from None
        times = {}
        for key, kind in (("basis", P.Basis), ("tier", P.Tier)):
            default = {"basis": "declared" if source is None else "register",
                       "tier": "bronze" if source is None else "gold"}[key]
            try:
                times[key] = kind(raw.get(key, default))
            except (ValueError, TypeError):
                choices = ", ".join(k.value for k in kind)
                raise WrongValueTypeError(f"{where}/{key}: {key} must be one of {choices}; got {raw.get(key)!r}",
                                          [{"pointer": f"{where}/{key}", "message": f"must be one of {choices}"}]
                                          ) from None
        for key in ("observed_at", "valid_from"):
            if raw.get(key) is not None:
                try:
                    times[key] = parse_time(str(raw[key]))
                except ValueError as exc:
                    raise WrongValueTypeError(f"{where}/{key}: {exc}",
                                              [{"pointer": f"{where}/{key}", "message": str(exc)}]) from None
        return spec, NewFact(spec.name, value, **times)

    def record(self, source: Organisation | None, person: str, raw_facts: Sequence[Mapping[str, Any]],
               value_at: Sequence[str] | None = None) -> int:
        """Append facts about a person. ``source`` None means the person declared them.

        Raises WrongValueTypeError (422) naming the fact's JSON pointer (``/0/value``) and the
        expected type, InvalidIdentifierError (422) naming the identifier scheme's rule broken.
        ``value_at`` names each value's JSON pointer when the request was not a list of facts.
        """
        self.require(person)
        return self.record_many(source, [(person, raw_facts)], [value_at] if value_at else None)

    def record_many(self, source: Organisation | None, batch: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
                    value_at: Sequence[Sequence[str]] | None = None) -> int:
        """Append facts about many people, known to exist, in one write."""
        now = self.clock.now()
        rows, keys = [], []
        for n, (person, raw_facts) in enumerate(batch):
            checked = (self.validate(source, raw, f"/{i}", value_at[n][i] if value_at else None)
                       for i, raw in enumerate(raw_facts))
            for spec, f in checked:
                value = self.cipher.encrypt(str(f.value), f"{person}|{spec.name}") if spec.sensitive else f.value
                rows.append({"person_id": person, "attribute": spec.name, "value": value,
                             "source": source.id if source else SELF, "basis": f.basis.value, "tier": f.tier.value,
                             "observed_at": f.observed_at or now, "valid_from": f.valid_from or f.observed_at or now,
                             "recorded_at": now})
                keys += [{"key": k, "person_id": person} for k in match_keys(spec.name, f.value)]
        if rows:
            self.store.add_facts(rows)
            self.store.add_match_keys(keys)
        return len(rows)

    def join_household(self, household: str | None, person: str, role: str) -> str:
        """Add a person to a household (a new one if ``household`` is None); returns its id."""
        if role not in HOUSEHOLD_ROLES:
            raise WrongValueTypeError(f"role must be one of {', '.join(HOUSEHOLD_ROLES)}; got {role!r}")
        self.require(person)
        household = household or uuid7()
        self.store.add_member(household, person, role, self.clock.now())
        return household

    def household(self, household: str) -> list[dict[str, Any]]:
        return self.store.household(household)

    def profiles(self, persons: Sequence[str], reveal: Sequence[str] = (),
                 only: Sequence[str] | None = None) -> dict[str, dict[str, P.Fact]]:
        """Each person's best fact per attribute (or per attribute in ``only``). Sensitive values
        stay masked unless named in ``reveal``."""
        out = {}
        for person, best in self.store.profile_facts(persons, only).items():
            for name, fact in list(best.items()):
                spec = self.attributes.get(name)
                if spec is not None and spec.sensitive:
                    shown = (self.cipher.decrypt(fact.value, f"{fact.person}|{name}") if name in reveal else MASK)
                    best[name] = P.Fact(**{**fact.__dict__, "value": shown})
            out[person] = best
        return out

    def profile_values(self, persons: Sequence[str], only: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each person's best value per attribute in ``only``: ``{person: {attribute: value}}``,
        the values ``profiles(persons, only=only)`` holds, sensitive ones masked."""
        out = self.store.profile_values(persons, only)
        masked = [a for a in only if (spec := self.attributes.get(a)) is not None and spec.sensitive]
        for values in out.values() if masked else ():
            for name in masked:
                if name in values:
                    values[name] = MASK
        return out

    def profile(self, person: str, reveal: Sequence[str] = ()) -> dict[str, P.Fact]:
        self.require(person)
        return self.profiles([person], reveal)[person]
