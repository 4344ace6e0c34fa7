"""Identity resolution: link records to people without ever merging on a guess.

An exact identifier match links at once. Otherwise people who share a date of birth or a
postcode are scored on name (order-insensitive, typo-tolerant, with rapidfuzz), date of
birth and postcode. Only a score at or above ``AUTO_LINK`` links by itself; a score above
``REVIEW`` is offered to a person to decide. Merges are recorded and can be reversed.

Names are compared in their normalised form (``domain.names``: NFKC, typographic apostrophes
and hyphens read as ' and -, case folded). Typo tolerance never applies to the given name
when date of birth and address agree: Alexander and Alexandra Llewellyn-Jones, born the
same day at the same address, are twins far more often than one person mistyped, so a
different given name caps the score below ``AUTO_LINK`` and the best it gets is review.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..domain import identifiers as identifier_rules
from ..domain.clock import Clock
from ..domain.ids import uuid7
from ..domain.names import normalise_name
from .registry import Registry, match_keys, normalise_postcode

AUTO_LINK = 96.0
REVIEW = 70.0
MATCH_ATTRIBUTES = ("given_name", "family_name", "date_of_birth", "postcode")


@dataclass(frozen=True)
class Candidate:
    person: str
    score: float
    why: dict[str, float]


@dataclass
class Resolution:
    person: str | None  # linked (existing) person, if any
    method: str  # identifier, match, new, review
    candidates: list[Candidate] = field(default_factory=list)


def score(record: Mapping[str, str], known: Mapping[str, str]) -> tuple[float, dict[str, float]]:
    """A match score out of 100 with its parts; a different given name never reaches ``AUTO_LINK``."""
    given_a, given_b = normalise_name(record.get("given_name")), normalise_name(known.get("given_name"))
    family_a, family_b = normalise_name(record.get("family_name")), normalise_name(known.get("family_name"))
    name_a, name_b = f"{given_a} {family_a}".strip(), f"{given_b} {family_b}".strip()
    name = fuzz.token_sort_ratio(name_a, name_b) if name_a and name_b else 0.0
    dob_a, dob_b = record.get("date_of_birth"), known.get("date_of_birth")
    dob = 100.0 if dob_a and dob_a == dob_b else (fuzz.ratio(dob_a, dob_b) * 0.8 if dob_a and dob_b else 0.0)
    pc_a, pc_b = record.get("postcode"), known.get("postcode")
    pc = 100.0 if pc_a and pc_b and normalise_postcode(pc_a) == normalise_postcode(pc_b) else 0.0
    total = 0.5 * name + 0.35 * dob + 0.15 * pc
    why = {"name": round(name, 1), "date_of_birth": round(dob, 1), "postcode": pc}
    swapped = {given_a, family_a} == {given_b, family_b}  # given and family names written the other way round
    if given_a and given_b and given_a != given_b and not swapped:
        total = min(total, AUTO_LINK - 1)  # perhaps a twin or sibling: a person decides
        why["given_name_differs"] = 1.0
    return round(total, 1), why


class Resolver:
    def __init__(self, registry: Registry, store, clock: Clock,
                 publish: Callable[[str, str, dict], None] | None = None) -> None:
        self.registry, self.store, self.clock = registry, store, clock
        self.publish = publish  # merges and unmerges are events: journeys and insights hear of them

    def resolve(self, record: Mapping[str, str], identifiers: Mapping[str, str] | None = None) -> Resolution:
        for scheme, value in (identifiers or {}).items():
            try:
                value = identifier_rules.check(scheme, value)
            except identifier_rules.InvalidIdentifierError:
                continue  # no one holds an identifier its issuer never gives out
            person = self.store.by_identifier(scheme, value)
            if person is not None:
                return Resolution(person, "identifier")
        keys = [k for a in ("date_of_birth", "postcode") if record.get(a) for k in match_keys(a, record[a])]
        people = self.store.candidates(keys)
        profiles = self.registry.profiles(people) if people else {}
        ranked = []
        for person, prof in profiles.items():
            known = {a: prof[a].value for a in MATCH_ATTRIBUTES if a in prof}
            total, why = score(record, known)
            if total >= REVIEW:
                ranked.append(Candidate(person, total, why))
        ranked.sort(key=lambda c: c.score, reverse=True)
        if ranked and ranked[0].score >= AUTO_LINK and (len(ranked) == 1 or ranked[1].score < AUTO_LINK):
            return Resolution(ranked[0].person, "match", ranked)
        return Resolution(None, "review" if ranked else "new", ranked)

    def merge(self, survivor: str, merged: str, score_: float, reason: str) -> str:
        """Fold one record into another; reversible with ``unmerge``."""
        self.registry.require(survivor)
        self.registry.require(merged)
        merge_id = uuid7()
        self.store.merge({"id": merge_id, "survivor": survivor, "merged": merged, "score": score_,
                          "reason": reason, "at": self.clock.now(), "reversed_at": None})
        if self.publish:
            self.publish("civic.person.merged", survivor, {"merge": merge_id, "merged": merged, "score": score_})
        return merge_id

    def unmerge(self, merge_id: str) -> bool:
        row = self.store.unmerge(merge_id, self.clock.now())
        if row is not None and self.publish:
            self.publish("civic.person.unmerged", row["survivor"], {"merge": merge_id, "merged": row["merged"]})
        return row is not None
