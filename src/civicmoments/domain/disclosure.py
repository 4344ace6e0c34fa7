"""The rules of the privacy gate, as pure functions: may this data leave, and in what form?"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from .consent import Agreement, ConsentRecord, Mode, Purpose, permits


class DisclosureRefusedError(Exception):
    """A disclosure was refused. Subclasses name the rule that was broken."""

    slug = "disclosure-refused"


class UnknownPurposeError(DisclosureRefusedError):
    slug = "unknown-purpose"


class ConsentNotGivenError(DisclosureRefusedError):
    slug = "consent-not-given"


class NoAgreementError(DisclosureRefusedError):
    slug = "no-agreement"


class NothingAgreedError(DisclosureRefusedError):
    slug = "nothing-agreed"


class CheckNotAgreedError(DisclosureRefusedError):
    slug = "check-not-agreed"


@dataclass(frozen=True)
class Authorisation:
    """A disclosure the gate allows: what may leave, to whom, how, and on what basis."""

    recipient: str
    purpose: str
    person: str
    attributes: tuple[str, ...]  # requested and agreed
    withheld: tuple[str, ...]  # requested but not agreed: minimised away
    mode: Mode
    agreement: str
    agreement_version: int
    basis: str


def authorise(recipient: str, purpose: Purpose | None, person: str, requested: Sequence[str],
              agreement: Agreement | None, consent: ConsentRecord | None,
              purpose_id: str = "") -> Authorisation:
    if purpose is None:
        raise UnknownPurposeError(f"purpose {purpose_id!r} is not declared")
    if agreement is None or not agreement.active:
        raise NoAgreementError(f"no data-sharing agreement lets {recipient} receive data for {purpose.id}")
    allowed, why = permits(purpose, consent)
    if not allowed:
        raise ConsentNotGivenError(f"no basis to share for {purpose.id}: {why}")
    agreed = set(agreement.attributes)
    keep = tuple(a for a in requested if a in agreed)
    withheld = tuple(a for a in requested if a not in agreed)
    if requested and not keep:
        raise NothingAgreedError(f"none of {', '.join(requested)} is in agreement {agreement.id} "
                                 f"v{agreement.version}")
    return Authorisation(recipient, purpose.id, person, keep, withheld, agreement.mode, agreement.id,
                         agreement.version, why)


def share_body(subject: str, identified: bool, purpose: str, agreement: str, agreement_version: int,
               data: dict, reference: str) -> bytes:
    """The exact bytes a partner receives for one share, built from the agreement alone.

    ``subject`` is the pseudonym (or, under an identified agreement, the identifier the
    agreement names); ``data`` holds only agreed attribute values; ``reference`` is an
    opaque reply reference that only the platform can map back to its journey. Nothing
    else (no platform id, trigger event, earlier results or personalisation) is ever put
    in: a value a partner needs must be an agreed attribute. Canonical JSON (RFC 8785
    style: sorted keys, no spaces, UTF-8), so the same share is the same bytes and its
    SHA-256 in the access log identifies it.
    """
    body = {"subject": subject, "subject_type": "identified" if identified else "pseudonym", "purpose": purpose,
            "agreement": {"id": agreement, "version": agreement_version}, "data": data, "reference": reference}
    return _canonical(body)


def reservation_body(subject: str, identified: bool, purpose: str, agreement: str, agreement_version: int,
                     action: str, job: str, slot: str, reference: str) -> bytes:
    """The exact bytes a partner receives to hold (``action: reserve``) or release (``cancel``) a slot.

    As ``share_body``, from the agreement alone: the subject (the pseudonym under a pseudonymised
    agreement), purpose, agreement id and version, and the reference; ``job`` and ``slot`` are
    the partner's own identifiers for what it offered (a slot is an ISO 8601 UTC time). No
    attribute of the person is sent.
    """
    return _canonical({"subject": subject, "subject_type": "identified" if identified else "pseudonym",
                       "purpose": purpose, "agreement": {"id": agreement, "version": agreement_version},
                       "action": action, "job": job, "slot": slot, "reference": reference})


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
