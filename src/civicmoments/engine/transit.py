"""The transit entitlement: a yes/no answer at the gate, and the chargeback ledger.

A person registers a travel card with consent for the fare-concession purpose; only a
keyed hash of its id is kept. At the gate the transit organisation asks, machine to
machine, whether the card belongs to an active job seeker. The answer is yes or no and
nothing else; every question is written in the access log, the unknown ones included.
Checks are rate-limited per organisation, so nobody can probe for cards. Each waived
fare is a line in the ledger between the transit organisation and the department.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ..domain.clock import Clock, iso
from ..domain.ids import uuid7
from ..domain.organisations import Organisation
from .errors import InvalidMonthError, InvalidTokenError, Problem, TooManyChecksError
from .providers import Bucket

PURPOSE, CHECK = "fare-concession", "active-jobseeker"
CARD = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class Transit:
    def __init__(self, store, gate, consents, audit, hasher: Callable[[str], str], clock: Clock,
                 department: str = "Department for Work and Pensions", checks_per_second: float = 20.0,
                 monotonic: Callable[[], float] = time.monotonic, limits=None) -> None:
        self.store, self.gate, self.consents, self.audit = store, gate, consents, audit
        self.hasher, self.clock, self.department = hasher, clock, department
        self.rate, self.monotonic = checks_per_second, monotonic
        self.buckets: dict[str, Bucket] = {}
        self.limits = limits  # adapters/store/limits.SharedLimits: one limit across every process

    def register(self, person: str, token: str, valid_for: timedelta = timedelta(days=365),
                 channel: str = "api") -> dict:
        if not isinstance(token, str) or not CARD.match(token):
            raise InvalidTokenError("a travel token is 8 to 64 letters, digits or hyphens, as printed on the card")
        receipt = self.consents.give(person, PURPOSE, channel=channel)
        now = self.clock.now()
        self.store.register(self.hasher(token), person, now, now + valid_for)
        return {"registered": True, "expires_at": iso(now + valid_for), "consent": receipt}

    def _throttle(self, org: Organisation) -> None:
        if self.limits is not None:
            got = self.limits.take(f"transit:{org.id}", self.rate, 1)
        else:
            got = self.buckets.setdefault(org.id, Bucket(self.rate)).take(1, self.monotonic())
        if got < 1:
            raise TooManyChecksError(f"at most {self.rate:g} checks a second for each organisation")

    def active_jobseeker(self, org: Organisation, token: str) -> bool:
        """Yes or no. An unknown, expired or replaced token is no; the question is logged either way."""
        self._throttle(org)
        now = self.clock.now()
        person = self.store.holder(self.hasher(str(token)), now) if isinstance(token, str) else None
        if person is None:
            self.audit.append([{"at": iso(now), "recipient": org.id, "purpose": PURPOSE, "person": None,
                                "channel": "check", "outcome": "refused", "rule": "unknown-token",
                                "reason": "no live travel token matches"}])
            return False
        (answer,) = self.gate.check(org.id, PURPOSE, [person], CHECK)
        return answer is True

    def waive(self, org: Organisation, token: str, fare_pence: int) -> dict:
        """A fare at the gate: waived for an active job seeker and booked to the chargeback ledger.

        ``fare_pence`` is a whole number of pence, 1 to 100000 (else ``Problem``). The answer is
        ``{waived: False, fare_pence}``, or ``{waived: True, fare_pence, statement_month, recorded_at}``:
        the month (YYYY-MM, UTC, on the platform's clock) of the statement the fare is charged back
        on, so the gate reconciles against the ledger rather than its own clock, and the UTC instant.
        """
        if not isinstance(fare_pence, int) or isinstance(fare_pence, bool) or not 0 < fare_pence <= 100_000:
            raise Problem("fare_pence is a whole number of pence, more than 0 and at most 100000")
        if not self.active_jobseeker(org, token):
            return {"waived": False, "fare_pence": fare_pence}
        now = self.clock.now().astimezone(timezone.utc)
        month = now.strftime("%Y-%m")
        self.store.add_fare({"id": uuid7(), "org_id": org.id, "token_hash": self.hasher(token),
                             "fare_pence": fare_pence, "at": now, "month": month})
        return {"waived": True, "fare_pence": fare_pence, "statement_month": month, "recorded_at": iso(now)}

    def statement(self, org: Organisation, month: str) -> dict:
        try:
            datetime.strptime(month, "%Y-%m")
        except (TypeError, ValueError):
            raise InvalidMonthError(f"month is written YYYY-MM, e.g. 2026-11; got {month!r}") from None
        days = self.store.statement(org.id, month)
        return {"month": month, "creditor": org.name, "debtor": self.department,
                "fares": sum(d["fares"] for d in days), "total_pence": sum(d["total_pence"] for d in days),
                "days": days}
