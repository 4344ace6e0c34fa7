"""Authority of senders: only an organisation related to a person may report their life events.

Intake calls ``Authority.screen`` with the events that passed validation. For each event whose
type has a rule in the pack (``registry/authority.yaml``):

- a subject the registry knows must have the rule's relationship with the sender (for
  ``employer``: one of the person's ``employer`` facts names the organisation, by name or id).
  Otherwise the event is refused with ``sender-not-related`` (403) and logged with ids only,
  or, where the rule says ``otherwise: verification``, held in a ``verification`` case;
- a subject the registry does not know goes to identity resolution (the subject as an
  identifier in the pack's ``identify_by`` schemes, and the matching attributes the event
  carries). A match replaces the subject with the person's id and is then checked as above;
  no match holds the event in a ``verification`` case, so no journey starts for someone the
  platform cannot reach.

Nothing held or refused reaches the inbox. A held event's case is idempotent on the event's
(source, id), so a resent event finds the same case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.organisations import Organisation
from ..logs import get
from ..packs.authority import AuthorityRule, AuthorityRules
from .errors import Problem
from .identity import MATCH_ATTRIBUTES

log = get("civic.authority")


class SenderNotRelatedError(Problem):
    """403: the sender lacks the relationship the pack requires for this event type."""

    slug, status = "sender-not-related", 403
    title = "The organisation has no relationship with this person that lets it report this"

class SenderNotAuthorisedError(Problem):
    """403: the event type may come only from a kind of organisation (a registrar) the sender is not."""

    slug, status = "sender-not-authorised", 403
    title = "Only an organisation of the kind the law names may report this"


VERIFICATION = "verification"


@dataclass(frozen=True)
class Held:
    """An event kept out of the inbox until a person verifies it: the case that holds it."""

    case: str
    reason: str  # unknown-subject | no-relationship


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


class Authority:
    def __init__(self, rules: AuthorityRules, registry_store, resolver, cases) -> None:
        self.rules, self.store, self.resolver, self.cases = rules, registry_store, resolver, cases

    def screen(self, org: Organisation, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any] | Exception | Held]:
        """Each inbox row as it may go on (its subject resolved), or the Problem refusing it, or Held."""
        ruled = [(i, self.rules.rules[r["type"]]) for i, r in enumerate(rows) if r["type"] in self.rules.rules]
        out: list[dict[str, Any] | Exception | Held] = list(rows)
        for i, rule in [(i, rule) for i, rule in ruled if rule.sender and not org.may(rule.sender.permission)]:
            log.warning("event refused: sender not authorised", org=org.id, event_id=rows[i]["event_id"],
                        type=rows[i]["type"], sender=rule.sender.id)
            out[i] = SenderNotAuthorisedError(
                f"organisation {org.name!r} is not {rule.sender.title}, so it may not report {rows[i]['type']!r}; "
                f"nothing was recorded. Registration services hold the {rule.sender.permission!r} permission")
        ruled = [(i, rule) for i, rule in ruled if not isinstance(out[i], Exception)]
        if not ruled:
            return out
        known = self.store.existing(sorted({rows[i]["subject"] for i, _ in ruled}))
        subjects: dict[int, str] = {}
        for i, rule in ruled:
            row = rows[i]
            if row["subject"] in known:
                subjects[i] = row["subject"]
                continue
            found = self._identify(row)
            person = found.person if found is not None else None
            if person is None:
                out[i] = self._hold(org, row, rule, "unknown-subject", row["subject"],
                                    found.candidates if found is not None else ())
                log.info("event held: subject unknown", org=org.id, event_id=row["event_id"], type=row["type"],
                         case=out[i].case)
            else:
                subjects[i] = person
        attributes = sorted({rule.relationship.attribute for _, rule in ruled if rule.relationship})
        facts = self.store.facts_of(sorted(set(subjects.values())), attributes) if subjects else {}
        names = {_norm(org.name), _norm(org.id)}
        for i, rule in ruled:
            if i not in subjects:
                continue
            person, row = subjects[i], rows[i]
            if rule.relationship is None:  # standing of its own (a registrar): the subject is enough
                out[i] = {**row, "subject": person}
                continue
            related = any(f.attribute == rule.relationship.attribute and _norm(f.value) in names
                          for f in facts.get(person, []))
            if related:
                out[i] = {**row, "subject": person}
            elif rule.otherwise == VERIFICATION:
                out[i] = self._hold(org, row, rule, "no-relationship", person)
                log.warning("event held: sender not related", org=org.id, event_id=row["event_id"], type=row["type"],
                            person=person, relationship=rule.relationship.id, case=out[i].case)
            else:
                log.warning("event refused: sender not related", org=org.id, event_id=row["event_id"],
                            type=row["type"], person=person, relationship=rule.relationship.id)
                out[i] = SenderNotRelatedError(
                    f"organisation {org.name!r} is not {rule.relationship.title} for the subject of event "
                    f"{row['event_id']!r}, so it may not report {row['type']!r}; nothing was started. "
                    f"If you are, report the relationship first (for an employer, the starter report)")
        return out

    def _identify(self, row: dict[str, Any]):
        """The resolver's answer for the event's subject and matching attributes (None: nothing to go on)."""
        data = row.get("data") if isinstance(row.get("data"), dict) else {}
        record = {a: str(data[a]) for a in MATCH_ATTRIBUTES if data.get(a)}
        identifiers = {scheme: row["subject"] for scheme in self.rules.identify_by}
        if not identifiers and not record:
            return None
        return self.resolver.resolve(record, identifiers)

    def _hold(self, org: Organisation, row: dict[str, Any], rule: AuthorityRule, reason: str, person: str,
              candidates: Sequence[Any] = ()) -> Held:
        why = ("the subject is not a person the registry knows" if reason == "unknown-subject"
               else f"the sender is not {rule.relationship.title if rule.relationship else 'authorised'}")
        case = self.cases.open(
            VERIFICATION, person, f"Check a {row['type']} report from {org.name}: {why}",
            data={"rule": reason, "organisation": org.id, "event": {"source": row["source"], "id": row["event_id"],
                                                                    "type": row["type"]},
                  # the people it may be (scored 70 to 95), for the identity review queue
                  "candidates": [{"person": c.person, "score": c.score, "why": c.why} for c in candidates]},
            key=f"verification:{row['source']}:{row['event_id']}")
        return Held(case.id, reason)
