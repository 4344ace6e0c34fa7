"""Consent: given, refused and withdrawn as easily as each other, each with a receipt."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..domain.clock import Clock
from ..domain.consent import ConsentRecord, ConsentState, Purpose
from ..domain.ids import uuid7
from .errors import ConsentNeverGivenError, UnknownPurposeError

CHANNELS = ("portal", "app", "letter", "phone", "in-person", "api", "employer", "assisted")  # assisted: given to an officer
CONSENT_WITHDRAWN = f"civic.consent.{ConsentState.WITHDRAWN.value}"


class Consents:
    def __init__(self, store, registry, purposes: Mapping[str, Purpose], clock: Clock, controller: str,
                 publish: Callable[[str, str, dict], None] | None = None) -> None:
        self.store, self.registry, self.purposes = store, registry, purposes
        self.clock, self.controller = clock, controller
        self.publish = publish  # tells running journeys, e.g. to cancel on withdrawal

    def purpose(self, purpose_id: str) -> Purpose:
        purpose = self.purposes.get(purpose_id)
        if purpose is None:
            raise UnknownPurposeError(
                f"purpose {purpose_id!r} is not declared; known purposes: {', '.join(sorted(self.purposes))}")
        return purpose

    def record(self, person: str, purpose_id: str, state: ConsentState, channel: str = "api",
               notice_version: str | None = None) -> dict:
        purpose = self.purpose(purpose_id)
        self.registry.require(person)
        if channel not in CHANNELS:
            raise UnknownPurposeError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
        if state is ConsentState.WITHDRAWN:
            latest = self.store.latest_consents([person], purpose.id).get(person)
            if latest is None or latest.state is not ConsentState.GIVEN:
                raise ConsentNeverGivenError(
                    f"{person} has no consent in force for {purpose.id} to withdraw")
        rec = ConsentRecord(uuid7(), person, purpose.id, notice_version or purpose.notice_version, state,
                            self.clock.now(), channel)
        self.store.add_consent(rec)
        if self.publish is not None:
            self.publish(f"civic.consent.{state.value}", person,
                         {"purpose": purpose.id, "notice_version": rec.notice_version, "channel": channel})
        return rec.receipt(purpose, self.controller)

    def give(self, person: str, purpose: str, channel: str = "api", notice_version: str | None = None) -> dict:
        return self.record(person, purpose, ConsentState.GIVEN, channel, notice_version)

    def refuse(self, person: str, purpose: str, channel: str = "api") -> dict:
        return self.record(person, purpose, ConsentState.REFUSED, channel)

    def withdraw(self, person: str, purpose: str, channel: str = "api") -> dict:
        return self.record(person, purpose, ConsentState.WITHDRAWN, channel)

    def receipts(self, person: str) -> list[dict]:
        self.registry.require(person)
        return [r.receipt(self.purpose(r.purpose), self.controller) for r in self.store.consents_of(person)]
