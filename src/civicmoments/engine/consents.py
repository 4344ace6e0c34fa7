"""Consent: given, refused and withdrawn as easily as each other, each with a receipt."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..domain.clock import Clock
from ..domain.consent import ConsentModel, ConsentRecord, ConsentState, ConsentStatus, Purpose, consent_status
from ..domain.ids import uuid7
from .errors import ConsentNeverGivenError, NoChoiceError, NotObjectedError, UnknownPurposeError

CHANNELS = ("portal", "app", "letter", "phone", "in-person", "api", "employer", "assisted")  # assisted: given to an officer
CONSENT_WITHDRAWN = f"civic.consent.{ConsentState.WITHDRAWN.value}"
CONSENT_REFUSED = f"civic.consent.{ConsentState.REFUSED.value}"


def refuse_unless_consent_based(purpose: Purpose) -> None:
    """Consent can be given, refused or withdrawn only where processing rests on it (opt-in, opt-out).

    Raises NoChoiceError for a legal obligation (UK GDPR Art. 6(1)(c): the law requires the
    processing) and for notice-only processing (a public task, Art. 6(1)(e), done with notice): a
    "consent" recorded there would promise a choice the person does not have.
    """
    if purpose.model is ConsentModel.LEGAL_OBLIGATION:
        raise NoChoiceError(
            f"{purpose.id} offers no choice: it is a legal obligation ({purpose.lawful_basis}), the law requires "
            "it, so consent is not asked for and cannot be given, refused or withdrawn")
    if purpose.model is ConsentModel.NOTICE_ONLY:
        raise NoChoiceError(
            f"{purpose.id} offers no choice: it is done with notice, not consent ({purpose.lawful_basis}), so "
            "consent cannot be given, refused or withdrawn, nor objected to; a person who disagrees asks for a "
            "review instead")


class Consents:
    def __init__(self, store, registry, purposes: Mapping[str, Purpose], clock: Clock, controller: str,
                 publish: Callable[[str, str, dict], None] | None = None, portal_url: str | None = None) -> None:
        self.store, self.registry, self.purposes = store, registry, purposes
        self.clock, self.controller, self.portal_url = clock, controller, portal_url
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
        refuse_unless_consent_based(purpose)
        self.registry.require(person)
        if channel not in CHANNELS:
            raise UnknownPurposeError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
        if state is ConsentState.WITHDRAWN and purpose.model is ConsentModel.OPT_OUT:
            state = ConsentState.REFUSED  # withdrawing from an opt-out purpose is objecting to it
        elif state is ConsentState.WITHDRAWN:
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
        return rec.receipt(purpose, self.controller, self.portal_url)

    def give(self, person: str, purpose: str, channel: str = "api", notice_version: str | None = None) -> dict:
        return self.record(person, purpose, ConsentState.GIVEN, channel, notice_version)

    def refuse(self, person: str, purpose: str, channel: str = "api") -> dict:
        return self.record(person, purpose, ConsentState.REFUSED, channel)

    def withdraw(self, person: str, purpose: str, channel: str = "api") -> dict:
        return self.record(person, purpose, ConsentState.WITHDRAWN, channel)

    def object(self, person: str, purpose: str, channel: str = "api") -> dict:
        """Object to an opt-out purpose (a refusal): what was queued for it is cancelled, as on withdrawal."""
        return self.record(person, purpose, ConsentState.REFUSED, channel)

    def undo_objection(self, person: str, purpose: str, channel: str = "api") -> dict:
        p = self.purpose(purpose)
        latest = self.store.latest_consents([person], p.id).get(person)
        if p.model is ConsentModel.OPT_OUT and (latest is None or latest.state is ConsentState.GIVEN):
            raise NotObjectedError(f"{person} has not objected to {p.id}")
        return self.record(person, purpose, ConsentState.GIVEN, channel)

    def statuses(self, person: str) -> list[ConsentStatus]:
        """Each purpose's real state for this person, under its model, with what they can do."""
        self.registry.require(person)
        return [consent_status(p, self.store.latest_consents([person], pid).get(person))
                for pid, p in self.purposes.items()]

    def receipts(self, person: str) -> list[dict]:
        self.registry.require(person)
        return [r.receipt(self.purpose(r.purpose), self.controller, self.portal_url)
                for r in self.store.consents_of(person)]
