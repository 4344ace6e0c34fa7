"""The privacy gate: the one path by which personal data leaves its holder.

For every disclosure (a partner share, an organisation's read, a staff view, a yes/no
check) it checks the purpose's lawful basis or the person's consent and the data-sharing
agreement, keeps only the agreed attributes, pseudonymises where agreed, and writes an
access-log entry. Refusals raise a named error and are logged too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.audit import Stamped
from ..domain.clock import Clock, iso
from ..domain.consent import Mode, Purpose
from ..domain.disclosure import (
    Authorisation,
    CheckNotAgreedError,
    DisclosureRefusedError,
    authorise,
    reservation_body,
    share_body,
)
from ..packs.registry import Check
from .outbound import Parcel


@dataclass(frozen=True)
class Release:
    person: str
    subject: str  # what the recipient sees: the person id, or a pseudonym
    data: dict[str, Any]
    authorisation: Authorisation


@dataclass(frozen=True)
class Refusal:
    person: str
    error: DisclosureRefusedError


class PrivacyGate:
    def __init__(self, registry, store, purposes: Mapping[str, Purpose], pseudonymiser, audit, clock: Clock,
                 checks: Mapping[str, Check] | None = None) -> None:
        self.registry, self.store, self.purposes = registry, store, purposes
        self.pseudonymiser, self.audit, self.clock = pseudonymiser, audit, clock
        self.checks = dict(checks or {})

    def _authorise(self, recipient: str, purpose_id: str, persons: Sequence[str], requested: Sequence[str],
                   shared: bool = False):
        """Each person's Authorisation, or the DisclosureRefusedError that refuses them, and the
        agreement in force. With ``shared``, people whose latest consent has the same state and
        time share one decision object (the rules read nothing else of the person; its
        ``person`` is the first of them)."""
        purpose = self.purposes.get(purpose_id)
        agreement = self.store.current_agreement(recipient, purpose_id)
        consents = self.store.latest_consents(persons, purpose_id) if purpose else {}
        out: dict[str, Authorisation | DisclosureRefusedError] = {}
        same: dict[Any, Authorisation | DisclosureRefusedError] = {}
        for person in persons:
            consent = consents.get(person)
            key = (consent.state, consent.at) if consent is not None else None
            if shared and key in same:
                out[person] = same[key]
                continue
            try:
                out[person] = authorise(recipient, purpose, person, requested, agreement, consent, purpose_id)
            except DisclosureRefusedError as exc:
                out[person] = exc
            if shared:
                same[key] = out[person]
        return out, agreement

    def _body(self, recipient: str, purpose: str, person: str, channel: str, outcome: Any,
              at: str | None = None) -> dict[str, Any]:
        body = {"at": at or iso(self.clock.now()), "recipient": recipient, "purpose": purpose, "person": person,
                "channel": channel}
        if isinstance(outcome, Authorisation):
            body.update(outcome="disclosed", attributes=list(outcome.attributes), withheld=list(outcome.withheld),
                        mode=outcome.mode.value, agreement=outcome.agreement,
                        agreement_version=outcome.agreement_version, basis=outcome.basis)
        else:
            body.update(outcome="refused", rule=outcome.slug, reason=str(outcome))
        return body

    def disclose(self, recipient: str, purpose: str, persons: Sequence[str], attributes: Sequence[str],
                 channel: str = "share", log_releases: bool = True) -> list[Release | Refusal]:
        """Disclose what may be disclosed about each person; refuse the rest. One log entry each.

        With ``log_releases=False`` only refusals are logged here: the releases are logged by
        the outbound boundary when their bytes are handed over (see ``parcels``).
        """
        decided, _ = self._authorise(recipient, purpose, persons, attributes)
        allowed = [p for p, a in decided.items() if isinstance(a, Authorisation)]
        wanted = {a for p in allowed for a in decided[p].attributes}
        profiles = self.registry.profiles(allowed, reveal=tuple(wanted), only=tuple(wanted)) if allowed and wanted else {}
        results: list[Release | Refusal] = []
        remember, bodies = [], []
        for person in persons:
            outcome = decided[person]
            body = self._body(recipient, purpose, person, channel, outcome)
            bodies.append(body)
            if not isinstance(outcome, Authorisation):
                results.append(Refusal(person, outcome))
                continue
            prof = profiles.get(person, {})
            data = {a: prof[a].value for a in outcome.attributes if a in prof}
            body["attributes"] = list(data)  # what actually left, not merely what was asked
            subject = person
            if outcome.mode is Mode.PSEUDONYMISED:
                subject = self.pseudonymiser.pseudonym(recipient, purpose, person)
                remember.append({"pseudonym": subject, "person_id": person, "partner": recipient,
                                 "purpose": purpose, "key_version": self.pseudonymiser.version})
            results.append(Release(person, subject, data, outcome))
        if remember:
            self.store.remember_pseudonyms(remember)
        self.audit.append(bodies if log_releases else [b for b in bodies if b["outcome"] != "disclosed"])
        return results

    def parcels(self, recipient: str, recipient_name: str, purpose: str, persons: Sequence[str],
                attributes: Sequence[str], keys: Sequence[str],
                channel: str = "share") -> list[Parcel | Refusal]:
        """The bodies for a share, built from the agreement alone, one per person (refusals logged now).

        ``keys`` are the platform's idempotency keys; each becomes an opaque reference (keyed
        HMAC) so the partner can be idempotent and reply without learning a journey id. The
        body is ``domain.disclosure.share_body``: subject, purpose, agreement id and version,
        the agreed values, the reference, and nothing else. Requested attributes the agreement
        lacks are withheld and named in the log entry.
        """
        out: list[Parcel | Refusal] = []
        for key, release in zip(keys, self.disclose(recipient, purpose, persons, attributes, channel,
                                                    log_releases=False), strict=True):
            if isinstance(release, Refusal):
                out.append(release)
                continue
            a = release.authorisation
            reference = self.pseudonymiser.pseudonym(recipient, "reply-reference", key)
            body = share_body(release.subject, a.mode is Mode.IDENTIFIED, purpose, a.agreement, a.agreement_version,
                              release.data, reference)
            out.append(Parcel(reference, recipient, recipient_name, release.person, purpose, channel,
                              tuple(release.data), body,
                              {"withheld": list(a.withheld), "mode": a.mode.value, "agreement": a.agreement,
                               "agreement_version": a.agreement_version, "basis": a.basis}))
        return out

    def reservation(self, recipient: str, recipient_name: str, purpose: str, person: str, action: str,
                    job: str, slot: str, key: str) -> Parcel | Refusal:
        """The body that holds or releases a partner's slot for a person (refusals logged now).

        Same rules as a share (purpose, consent, current agreement), but no attribute leaves:
        only the subject (the pseudonym under a pseudonymised agreement), the agreement, the
        partner's job and slot, and an opaque reference (keyed HMAC of ``key``). The outbound
        boundary logs the hand-over with the hash of these bytes.
        """
        (release,) = self.disclose(recipient, purpose, [person], (), "reservation", log_releases=False)
        if isinstance(release, Refusal):
            return release
        a = release.authorisation
        reference = self.pseudonymiser.pseudonym(recipient, "reply-reference", key)
        body = reservation_body(release.subject, a.mode is Mode.IDENTIFIED, purpose, a.agreement,
                                a.agreement_version, action, job, slot, reference)
        return Parcel(reference, recipient, recipient_name, person, purpose, "reservation", (), body,
                      {"mode": a.mode.value, "agreement": a.agreement, "agreement_version": a.agreement_version,
                       "basis": a.basis, "action": action})

    def release(self, recipient: str, recipient_name: str, purpose: str, person: str, job: str, slot: str,
                key: str) -> Parcel | None:
        """The body that frees a slot held for a person whose consent has just ended, or None.

        Giving effect to a withdrawal is not a new disclosure: the partner already holds the
        pseudonym, the job and the slot, and is told only to let them go. It needs the current
        agreement and the pseudonym the partner was given; consent is not asked for. The parcel
        is marked ``release`` so the fence lets it through.
        """
        agreement = self.store.current_agreement(recipient, purpose)
        if agreement is None or not agreement.active:
            return None
        identified = agreement.mode is Mode.IDENTIFIED
        subject = person if identified else self.pseudonymiser.pseudonym(recipient, purpose, person)
        reference = self.pseudonymiser.pseudonym(recipient, "reply-reference", key)
        body = reservation_body(subject, identified, purpose, agreement.id, agreement.version, "cancel", job, slot,
                                reference)
        return Parcel(reference, recipient, recipient_name, person, purpose, "reservation", (), body,
                      {"mode": agreement.mode.value, "agreement": agreement.id,
                       "agreement_version": agreement.version, "basis": "consent ended: the slot is released",
                       "action": "cancel", "release": True})

    def may_send(self, recipient: str, purpose: str, person: str) -> str | None:
        """Re-checked immediately before a body leaves: None, or why it may not (consent, agreement)."""
        return self.may_send_many([(recipient, purpose, person)])[0]

    def may_send_many(self, asks: Sequence[tuple[str, str, str]]) -> list[str | None]:
        """``may_send`` for each ``(recipient, purpose, person)``, in order, reading the agreement
        once per recipient and purpose and the consents of its people together."""
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (recipient, purpose, _person) in enumerate(asks):
            groups[(recipient, purpose)].append(i)
        out: list[str | None] = [None] * len(asks)
        for (recipient, purpose), idx in groups.items():
            decided, _ = self._authorise(recipient, purpose, [asks[i][2] for i in idx], ())
            for i in idx:
                outcome = decided[asks[i][2]]
                out[i] = None if isinstance(outcome, Authorisation) else str(outcome)
        return out

    def disclose_one(self, recipient: str, purpose: str, person: str, attributes: Sequence[str],
                     channel: str = "api") -> Release:
        (result,) = self.disclose(recipient, purpose, [person], attributes, channel)
        if isinstance(result, Refusal):
            raise result.error
        return result

    def check(self, recipient: str, purpose: str, persons: Sequence[str], check: str,
              channel: str = "check") -> list[bool | Refusal]:
        """A yes/no answer per person; no personal data leaves, and the question is logged.

        A batch is one act: its entries are logged at one time and appended together (hashed in
        one pass, inserted in one statement, per thousand on SQLite, in one transaction). People
        in the same consent state share one decision, and people with the same values one answer
        (the condition is pure), so the entries are those one-person checks would give."""
        spec = self.checks.get(check)
        decided, agreement = self._authorise(recipient, purpose, persons, (), shared=True)
        if spec is None or (agreement is not None and check not in agreement.checks):
            error = CheckNotAgreedError(f"check {check!r} is not in the agreement for {recipient} and {purpose}")
            decided = {p: (error if isinstance(a, Authorisation) else a) for p, a in decided.items()}
        allowed = [p for p, a in decided.items() if isinstance(a, Authorisation)]
        values_of = self.registry.profile_values(allowed, spec.attributes) if allowed and spec else {}
        answers: list[bool | Refusal] = []
        bodies = []
        at = iso(self.clock.now())  # the batch's entries are one act, logged at one time
        known: dict[tuple, bool] = {}  # the condition is pure: people with the same values share an answer
        templates: dict[int, dict[str, Any]] = {}  # per decision: the entry, but for its person
        for person in persons:
            outcome = decided[person]
            template = templates.get(id(outcome))
            if template is None:
                template = self._body(recipient, purpose, person, channel, outcome, at)
                if isinstance(outcome, Authorisation):
                    template.update(check=check, attributes=[], outcome="answered")
                templates[id(outcome)] = template
            bodies.append(Stamped.of(template, person))
            if isinstance(outcome, Authorisation):
                values = values_of.get(person, {})
                try:
                    # the type is part of the key: 1 is not True
                    if len(values) == 1:
                        ((a, v),) = values.items()
                        key: tuple | None = (a, v.__class__, v)
                    else:
                        key = tuple(sorted((a, v.__class__.__name__, v) for a, v in values.items()))
                    answer = known.get(key)
                except TypeError:  # a value that is a list or an object: no sharing
                    key = answer = None
                if answer is None:
                    answer = bool(spec.condition.value({"profile": values}))
                    if key is not None:
                        known[key] = answer
                answers.append(answer)
            else:
                answers.append(Refusal(person, outcome))
        self.audit.append(bodies)
        return answers

    def staff_view(self, officer, role: str, person: str, purpose: str,
                   attributes: Sequence[str] | None = None) -> dict[str, Any]:
        """An officer's view of a person's profile, for a purpose, logged as that officer.

        The officer's right to look comes from the staff policy (their role on the case's queue),
        which the caller has checked; here the purpose must be declared, sensitive values stay
        masked, and the access log gets one entry naming the officer, their role and organisation,
        so the person reads "a work coach at the employment department viewed your profile".
        Returns ``{attribute: Fact}``. Raises UnknownPurposeError.
        """
        from .errors import UnknownPurposeError

        if purpose not in self.purposes:
            raise UnknownPurposeError(f"purpose {purpose!r} is not declared")
        self.registry.require(person)
        profile = self.registry.profiles([person], only=attributes).get(person, {})
        self.audit.append([{"at": iso(self.clock.now()), "recipient": officer.organisation, "purpose": purpose,
                            "person": person, "channel": "staff", "outcome": "viewed", "officer": officer.id,
                            "role": role, "attributes": sorted(profile)}])
        return profile

    def partner_view(self, officer, role: str, recipient: str, person: str, purpose: str,
                     attributes: Sequence[str] | None = None) -> dict[str, Any]:
        """What an officer of a partner agency (a case referred to their queue) may see of a person:
        only what the current agreement between the platform and the officer's organisation for
        ``purpose`` allows (``recipient``: that organisation's id), with the person's consent where
        the purpose needs it, decided by the
        same rules as any disclosure. One access-log entry (disclosed, or refused with the rule)
        naming the officer and their role. Returns ``{attribute: Fact}`` for the agreed attributes
        only. Raises DisclosureRefusedError (no agreement, no consent, purpose not declared)."""
        wanted = list(attributes) if attributes is not None else sorted(self.registry.attributes)
        decided, _ = self._authorise(recipient, purpose, [person], wanted)
        outcome = decided[person]
        body = {**self._body(recipient, purpose, person, "staff-referral", outcome),
                "officer": officer.id, "role": role}
        if not isinstance(outcome, Authorisation):
            self.audit.append([body])
            raise outcome
        allowed = tuple(outcome.attributes)
        profile = self.registry.profiles([person], only=allowed).get(person, {}) if allowed else {}
        body["attributes"] = sorted(profile)
        self.audit.append([body])
        return profile

    def referral(self, officer, person: str, case: str, from_organisation: str, to_organisation: str,
                 purpose: str) -> None:
        """A case about the person was referred to another organisation's queue: one access-log
        entry, so the person sees who was asked to help and why (what that organisation may then see
        is decided, and logged, when its officers look: ``partner_view``)."""
        self.audit.append([{"at": iso(self.clock.now()), "recipient": to_organisation, "purpose": purpose,
                            "person": person, "channel": "referral", "outcome": "referred", "case": case,
                            "from": from_organisation, "officer": getattr(officer, "id", None),
                            "attributes": []}])

    def staff_document(self, officer, role: str, person: str, purpose: str, document: str, filename: str) -> None:
        """An officer opened a document the person attached to a case: one access-log entry naming
        the officer, their role and organisation, and the document (its id and name)."""
        self.audit.append([{"at": iso(self.clock.now()), "recipient": officer.organisation, "purpose": purpose,
                            "person": person, "channel": "staff", "outcome": "viewed", "officer": officer.id,
                            "role": role, "attributes": ["evidence"], "document": document,
                            "filename": filename}])

    def read(self, recipient: str, person: str, channel: str, attributes: Sequence[str], purpose: str,
             **more: Any) -> None:
        """An organisation (or a member of staff) read the person's data directly: one access-log entry.

        For reads that are not shares: an export, the once-only questions, message texts, a
        journey. ``more`` carries e.g. the recorded ``reason`` for a staff export."""
        self.audit.append([{"at": iso(self.clock.now()), "recipient": recipient, "purpose": purpose,
                            "person": person, "channel": channel, "outcome": "disclosed",
                            "attributes": sorted(attributes), "withheld": [], "mode": "identified", **more}])

    def reidentify(self, recipient: str, purpose: str, pseudonym: str) -> str | None:
        """Only the platform turns a pseudonym back into a person, when a reply comes back."""
        return self.store.reidentify(pseudonym, recipient, purpose)

    def event_parcels(self, recipient: str, recipient_name: str, purpose: str,
                      events: Sequence[Mapping[str, Any]], event_types: Sequence[str]) -> list[Parcel | Refusal]:
        """The bodies of events told to a subscriber, one per event, each decided on its own.

        ``events`` are ``{key, person, type, data}``: ``person`` is the event's subject (a
        person id), ``key`` the delivery's idempotency key. An event goes only when the
        agreement in force for this recipient and purpose lists its type among ``events``, and
        the purpose's basis or the person's consent allows it; its ``data`` keeps only the
        agreement's attributes, and its subject becomes a pseudonym unless the agreement is
        identified. The body is the CloudEvent ``data`` (canonical JSON); the subject travels
        in the ``ce-subject`` header and is put in ``Parcel.log["subject"]``. Refusals are
        logged here; releases are logged by the outbound boundary when their bytes leave.
        """
        from fnmatch import fnmatchcase

        from ..domain.disclosure import NoAgreementError, _canonical

        decided, agreement = self._authorise(recipient, purpose, sorted({e["person"] for e in events}), [])
        out: list[Parcel | Refusal] = []
        refusals, remember = [], []
        for e in events:
            outcome = decided[e["person"]]
            if isinstance(outcome, Authorisation) and agreement is not None and not any(
                    fnmatchcase(e["type"], t) for t in (agreement.events or ())):
                outcome = NoAgreementError(f"agreement {agreement.id} v{agreement.version} does not let "
                                           f"{recipient} be told of {e['type']}")
            if not isinstance(outcome, Authorisation):
                refusals.append(self._body(recipient, purpose, e["person"], "subscription", outcome))
                out.append(Refusal(e["person"], outcome))
                continue
            agreed = set(agreement.attributes) if agreement else set()
            data = {k: v for k, v in sorted((e.get("data") or {}).items()) if k in agreed}
            withheld = sorted(k for k in (e.get("data") or {}) if k not in agreed)
            subject = e["person"]
            if outcome.mode is Mode.PSEUDONYMISED:
                subject = self.pseudonymiser.pseudonym(recipient, purpose, e["person"])
                remember.append({"pseudonym": subject, "person_id": e["person"], "partner": recipient,
                                 "purpose": purpose, "key_version": self.pseudonymiser.version})
            out.append(Parcel(e["key"], recipient, recipient_name, e["person"], purpose, "subscription",
                              tuple(data), _canonical(data),
                              {"subject": subject, "withheld": withheld, "mode": outcome.mode.value,
                               "agreement": outcome.agreement, "agreement_version": outcome.agreement_version,
                               "basis": outcome.basis, "event_type": e["type"]}))
        if remember:
            self.store.remember_pseudonyms(remember)
        if refusals:
            self.audit.append(refusals)
        return out
