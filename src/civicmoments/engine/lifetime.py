"""The registers' life events at intake: a birth, a death, a move.

A registrar's word is the register's, so the registry takes it as it arrives, before any
journey runs:

- ``uk.gov.gro.birth-registered``: the child becomes a person (gold facts from the register)
  in the registering parent's household, with the roles ``parent`` and ``child``; the other
  parent joins when the registry knows them. The birth moment then decides Child Benefit for
  the household, the new child counted.
- ``uk.gov.gro.death-registered``: the date of death is recorded on the person who died, and
  each partner in their household learns it as a fact (for Bereavement Support Payment) and
  gets the platform's own ``civic.person.bereaved`` event. The journeys and pending messages
  of the person who died end in the dispatcher's transaction (``ends_journeys``). A second
  registration for the same person is a duplicate that names the first's reference.
- ``civic.person.address-changed`` for a person who has died is refused (409) and logged.

``screen`` runs before events are stored; ``apply`` after, for the events newly accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.clock import Clock
from ..domain.organisations import Organisation
from ..logs import get
from .errors import Problem

log = get("civic.lifetime")

BIRTH = "uk.gov.gro.birth-registered"
DEATH = "uk.gov.gro.death-registered"
MOVE = "civic.person.address-changed"
BEREAVED = "civic.person.bereaved"
CHILD_FACTS = ("given_name", "family_name", "date_of_birth", "sex")


class PersonHasDiedError(Problem):
    """409: a change for a person whose death is registered (a move, say); nothing is recorded."""

    slug, status = "person-has-died", 409
    title = "The person's death is registered"


@dataclass(frozen=True)
class AlreadyRegistered:
    """A death registered before: the event is a duplicate, with the first registration's reference."""

    reference: str


class Lifetime:
    def __init__(self, registry, publish: Callable[[str, str, dict[str, Any]], None], clock: Clock) -> None:
        self.registry, self.publish, self.clock = registry, publish, clock

    def _deaths(self, persons: Sequence[str]) -> dict[str, str]:
        """For each person whose death is registered, the registration's reference."""
        facts = self.registry.store.facts_of(sorted(set(persons)), ["death_registration"]) if persons else {}
        return {p: fs[-1].value for p, fs in facts.items() if fs}

    def screen(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any] | Problem | AlreadyRegistered]:
        """Each row as it may go on, a Problem refusing it, or AlreadyRegistered (a duplicate death)."""
        out: list[dict[str, Any] | Problem | AlreadyRegistered] = list(rows)
        concerned = [r["subject"] for r in rows if r["type"] in (DEATH, MOVE)]
        dead = self._deaths(concerned)
        for i, row in enumerate(rows):
            first = dead.get(row["subject"])
            if first is None:
                continue
            if row["type"] == DEATH:
                out[i] = AlreadyRegistered(first)
                log.info("death already registered", event_id=row["event_id"], person=row["subject"])
            elif row["type"] == MOVE:
                log.warning("move refused: the person has died", event_id=row["event_id"], person=row["subject"])
                out[i] = PersonHasDiedError(
                    f"the death of the subject of event {row['event_id']!r} is registered ({first}), so no move is "
                    "recorded and no agency is told; if the registration is wrong, ask the register office")
        return out

    def apply(self, org: Organisation, rows: Sequence[dict[str, Any]]) -> None:
        """Put newly accepted births and deaths in the registry (the register's word: gold)."""
        register = Organisation(org.id, org.name, org.sources, ("facts:*",))
        for row in rows:
            if row["type"] == BIRTH:
                self._birth(register, row)
            elif row["type"] == DEATH:
                self._death(register, row)

    @staticmethod
    def _gold(values: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"attribute": k, "value": v, "basis": "register", "tier": "gold"} for k, v in values.items()
                if v is not None]

    def _birth(self, register: Organisation, row: dict[str, Any]) -> str:
        data, parent = row["data"], row["subject"]
        child = self.registry.add_person()
        self.registry.record_many(register, [(child, self._gold(
            {**{k: data.get(k) for k in CHILD_FACTS}, "birth_registration": data["registration"]}))])
        members = self.registry.store.households_of(parent)
        household = members[0]["household_id"] if members else self.registry.join_household(None, parent, "parent")
        self.registry.join_household(household, child, "child")
        other = data.get("other_parent")
        if other and self.registry.store.existing([other]) and other not in {m["person_id"] for m in members}:
            self.registry.join_household(household, other, "parent")
        log.info("birth registered", event_id=row["event_id"], parent=parent, child=child, household=household)
        return child

    def _death(self, register: Organisation, row: dict[str, Any]) -> None:
        data, person = row["data"], row["subject"]
        self.registry.record_many(register, [(person, self._gold(
            {"date_of_death": data["date_of_death"], "death_registration": data["registration"]}))])
        contributed = self.registry.store.facts_of([person], ["class1_contribution_years"]).get(person, [])
        paid = bool(contributed) and int(contributed[-1].value or 0) > 0
        partners = [m["person_id"] for m in self.registry.store.households_of(person)
                    if m["person_id"] != person and m["role"] in ("partner", "adult", "parent")]
        for partner in partners:
            self.registry.record_many(register, [(partner, self._gold(
                {"partner_died_on": data["date_of_death"], "late_partner_contributed": paid}))])
            self.publish(BEREAVED, partner, {"date_of_death": data["date_of_death"],
                                             "registration": data["registration"], "deceased": person})
        log.info("death registered", event_id=row["event_id"], person=person, partners=len(partners))
