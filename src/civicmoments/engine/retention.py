"""Retention: what is kept past its period is deleted or anonymised, and the access log says so.

Periods come from the pack: each purpose's ``retention`` (the text of messages sent for it, and
what the platform keeps of shares under it when no agreement says otherwise), each agreement's
``retention_days`` (shares under it), and ``retention.superseded_facts`` (a fact a newer one of
the same or a better tier has replaced; the facts the profile shows are kept). What is removed:

- superseded facts: deleted;
- message text: replaced by a note saying it was removed and when; the message's delivery
  history (dates, channels, statuses) stays;
- shares: the outbox row keeps the partner, purpose and attribute names; the rest of its
  payload (the trigger, earlier results) is dropped.

The access log keeps one entry per run, saying what was removed and why, never the data; the
hash chain is untouched, so it still verifies. A person's request to erase what is not needed
by law is recorded (``request_erasure``) and announced as ``civic.erasure.requested``, the
hand-over for a case to decide it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import orjson

from ..domain.clock import Clock, iso
from ..logs import get

log = get("civic.retention")
ERASURE_REQUESTED = "civic.erasure.requested"
REMOVED = {
    "en": ("Message removed", "This message's text was deleted on {date}: it is kept for {days} days."),
    "cy": ("Neges wedi'i dileu", "Cafodd testun y neges hon ei ddileu ar {date}: caiff ei gadw am {days} diwrnod."),
}


@dataclass
class RetentionReport:
    day: date
    facts: int = 0
    messages: int = 0
    shares: int = 0
    by_purpose: dict[str, dict[str, int]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"retention for {self.day.isoformat()}: {self.facts} superseded fact(s) deleted, "
               f"{self.messages} message text(s) removed, {self.shares} share(s) minimised"]
        for purpose, counts in sorted(self.by_purpose.items()):
            out.append(f"  {purpose}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        return out


class Retention:
    def __init__(self, store, purposes, retention: dict[str, timedelta], agreements, organisations,
                 cipher, audit, clock: Clock, publish: Callable[[str, str, dict], None] | None = None) -> None:
        self.store, self.purposes, self.retention = store, purposes, retention
        self.agreements, self.organisations = agreements, organisations
        self.cipher, self.audit, self.clock, self.publish = cipher, audit, clock, publish

    def run(self, day: date | None = None) -> RetentionReport:
        """Remove what is past its period as of the start of ``day`` (UTC; default today)."""
        day = day or self.clock.now().date()
        at = datetime.combine(day, time(0), tzinfo=timezone.utc)
        report = RetentionReport(day)
        if (keep := self.retention.get("superseded_facts")) is not None:
            report.facts = self.store.delete_facts(self.store.superseded_facts(at - keep))
        for pid, purpose in self.purposes.items():
            if purpose.retention is None:
                continue
            rows = self.store.messages_past(pid, at - purpose.retention)
            days = purpose.retention.days
            self.store.replace_message_text([(r["id"], self._removed(r, day, days)) for r in rows], self.clock.now())
            if rows:
                report.messages += len(rows)
                report.by_purpose.setdefault(pid, {})["messages"] = len(rows)
        minimised = []
        for row in self.store.finished_shares(at):
            spec = row["payload"].get("spec", {})
            keep_for = self._share_period(spec.get("with"), spec.get("purpose"))
            if keep_for is None or row["done_at"] >= at - keep_for:
                continue
            minimised.append((row["id"], {"spec": {k: spec.get(k) for k in ("with", "purpose", "attributes")},
                                          "removed": day.isoformat()}))
            counts = report.by_purpose.setdefault(spec.get("purpose") or "?", {})
            counts["shares"] = counts.get("shares", 0) + 1
        self.store.minimise_shares(minimised)
        report.shares = len(minimised)
        if report.facts or report.messages or report.shares:
            self.audit.append([{"at": iso(self.clock.now()), "recipient": "civicmoments", "purpose": "retention",
                                "person": None, "channel": "retention", "outcome": "erased",
                                "facts": report.facts, "messages": report.messages, "shares": report.shares,
                                "by_purpose": report.by_purpose, "day": day.isoformat()}])
        log.info("retention run", day=day.isoformat(), facts=report.facts, messages=report.messages,
                 shares=report.shares)
        return report

    def _share_period(self, partner: str | None, purpose: str | None) -> timedelta | None:
        org = self.organisations.organisation(partner) if partner else None
        agreement = self.agreements.current_agreement(org["id"], purpose) if org and purpose else None
        if agreement is not None:
            return timedelta(days=agreement.retention_days)
        found = self.purposes.get(purpose)
        return found.retention if found else None

    def _removed(self, row: dict[str, Any], day: date, days: int) -> str:
        subject, text = REMOVED.get(row["locale"], REMOVED["en"])
        body = text.format(date=day.isoformat(), days=days)
        content = {"subject": subject, "short": body, "long": body, "removed": day.isoformat()}
        return self.cipher.encrypt(orjson.dumps(content).decode(), f"{row['person_id']}|message")

    # -- a person's request --------------------------------------------------------------
    def request_erasure(self, person: str, details: str) -> dict[str, Any]:
        """Record a person's request to erase what the law does not require us to keep. The request
        is announced as ``civic.erasure.requested``; a case decides what can go (UK GDPR Art. 17)."""
        row = {"id": str(uuid.uuid4()), "person_id": person, "requested_at": self.clock.now(),
               "details": details[:2000], "status": "received", "case_id": None}
        self.store.add_erasure_request(row)
        if self.publish is not None:  # the hand-over: a moment or the case core opens the case from this
            self.publish(ERASURE_REQUESTED, person, {"request": row["id"]})
        return row
