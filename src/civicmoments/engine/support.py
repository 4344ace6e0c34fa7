"""What a work coach records with a person, and the person sees in the portal: the claimant
commitment (what they will do to look for work, and whether they agreed it: New Style JSA is
paid only while there is one, https://www.gov.uk/jobseekers-allowance/your-jsa-claim, valid
from 2013-04-29), reasonable adjustments (Equality Act 2010, s.20), and an appointee who acts
for the person (Social Security (Claims and Payments) Regulations 1987, reg. 33).

Each record is appended, never changed: the newest of a kind is the one in force, and the
earlier ones stay for the record. Each names the officer and how the person asked.

Errors: InvalidSupportRecordError (422) naming the field.
"""

from __future__ import annotations

from typing import Any

from ..domain.ids import uuid7
from .errors import _problem

KINDS = ("commitment", "adjustments", "appointee")
HOW = {"phone": "by phone", "visit": "on a visit", "office": "at the office", "video": "by video call"}
LIMIT = 2000  # characters in one text field
InvalidSupportRecordError = _problem("invalid-support-record", 422, "The record is not complete")

FIELDS: dict[str, dict[str, bool]] = {  # each kind's fields: required or not
    "commitment": {"actions": True, "hours": True, "agreed": False},
    "adjustments": {"adjustments": True},
    "appointee": {"name": True, "relationship": True, "phone": False},
}


class Support:
    def __init__(self, store, clock) -> None:
        self.store, self.clock = store, clock

    def record(self, officer, person: str, kind: str, data: dict[str, Any], how: str) -> dict[str, Any]:
        """Record a commitment, adjustments or an appointee for the person, as told to ``officer``.
        ``how`` is how the person asked (phone, visit, office, video). A commitment's ``hours`` is a
        whole number of hours a week (1 to 70); ``agreed`` is true when the person agreed it.
        Raises InvalidSupportRecordError naming the field."""
        if kind not in KINDS:
            raise InvalidSupportRecordError(f"kind is one of {', '.join(KINDS)}, not {kind!r}")
        if how not in HOW:
            raise InvalidSupportRecordError(f"how the person asked is one of {', '.join(HOW)}",
                                            [{"pointer": "/how", "message": "required"}])
        clean: dict[str, Any] = {}
        for name, required in FIELDS[kind].items():
            value = data.get(name)
            if name == "agreed":
                clean[name] = bool(value)
                continue
            if name == "hours":
                if not str(value or "").strip().isdigit() or not 1 <= int(str(value).strip()) <= 70:
                    raise InvalidSupportRecordError("hours is a whole number of hours a week, from 1 to 70",
                                                    [{"pointer": "/hours", "message": "1 to 70"}])
                clean[name] = int(str(value).strip())
                continue
            text = str(value or "").strip()
            if required and not text:
                raise InvalidSupportRecordError(f"{name} is empty", [{"pointer": f"/{name}", "message": "required"}])
            if len(text) > LIMIT:
                raise InvalidSupportRecordError(f"{name} is longer than {LIMIT} characters",
                                                [{"pointer": f"/{name}", "message": f"at most {LIMIT}"}])
            if text:
                clean[name] = text
        row = {"id": uuid7(), "person_id": person, "kind": kind, "data": clean, "recorded_by": officer.id,
               "recorded_at": self.clock.now(), "channel": how}
        self.store.add(row)
        return row

    def current(self, person: str) -> dict[str, dict[str, Any]]:
        """The record in force of each kind the person has: ``{kind: row}``."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.store.of_person(person):
            out[row["kind"]] = row
        return out
