"""Purposes, consent and data-sharing agreements.

A consent record follows the structure of ISO/IEC TS 27560 (consent record information
structure): who, for which purpose, under which notice version, when, through which
channel, and in which state. Records are only appended; the newest one counts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .clock import iso


class ConsentModel(str, enum.Enum):
    OPT_IN = "opt-in"  # only with consent given
    OPT_OUT = "opt-out"  # unless refused or withdrawn
    NOTICE_ONLY = "notice-only"  # with notice; the person may still object (withdraw)
    LEGAL_OBLIGATION = "legal-obligation"  # the law requires it; consent does not apply


class ConsentState(str, enum.Enum):
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class Mode(str, enum.Enum):
    IDENTIFIED = "identified"
    PSEUDONYMISED = "pseudonymised"


@dataclass(frozen=True)
class Purpose:
    id: str
    title: str
    lawful_basis: str  # e.g. "UK GDPR Art. 6(1)(e) public task"
    model: ConsentModel
    notice_version: str
    notice: str = ""
    retention: timedelta | None = None  # how long what is kept for this purpose is kept (messages, shares)


@dataclass(frozen=True)
class ConsentRecord:
    id: str
    person: str
    purpose: str
    notice_version: str
    state: ConsentState
    at: datetime
    channel: str  # portal, letter, phone, in-person, api

    def receipt(self, purpose: Purpose, controller: str, portal_url: str | None = None) -> dict[str, Any]:
        """The person's receipt, in the shape of an ISO/IEC TS 27560 consent record."""
        return {
            "schema": "ISO/IEC TS 27560:2023 consent record (subset)",
            "record_id": self.id,
            "data_subject": self.person,
            "controller": controller,
            "purpose": {"id": purpose.id, "title": purpose.title, "lawful_basis": purpose.lawful_basis,
                        "consent_model": purpose.model.value},
            "notice": {"version": self.notice_version},
            "state": self.state.value,
            "timestamp": iso(self.at),
            "collection_method": self.channel,
            "how_to_withdraw": f"{portal_url.rstrip('/')}/consents" if portal_url else
                               f"DELETE /v1/people/{self.person}/consents/{purpose.id}",
        }


@dataclass(frozen=True)
class ConsentStatus:
    """What a person sees for one purpose: its state under its model, and what they can do.

    States: opt-in ``given`` / ``not-given`` / ``withdrawn`` / ``refused``; opt-out ``shared``
    (no objection) / ``objected``; ``notice-only`` and ``legal-obligation`` (no choice, with why).
    Actions: opt-in ``give`` or ``withdraw``; opt-out ``object`` or ``undo``; none otherwise.
    """

    purpose: str
    model: ConsentModel
    state: str
    actions: tuple[str, ...]
    in_force: bool  # whether data may be used for the purpose now
    why: str


def consent_status(purpose: Purpose, latest: ConsentRecord | None) -> ConsentStatus:
    state = latest.state if latest else None
    allowed, why = permits(purpose, latest)
    if purpose.model is ConsentModel.OPT_IN:
        shown = state.value if state else "not-given"
        return ConsentStatus(purpose.id, purpose.model, shown, ("withdraw",) if allowed else ("give",), allowed, why)
    if purpose.model is ConsentModel.OPT_OUT:
        objected = state in (ConsentState.REFUSED, ConsentState.WITHDRAWN)
        return ConsentStatus(purpose.id, purpose.model, "objected" if objected else "shared",
                             ("undo",) if objected else ("object",), allowed,
                             why if objected else f"used unless you object ({purpose.lawful_basis})")
    if purpose.model is ConsentModel.NOTICE_ONLY:
        return ConsentStatus(purpose.id, purpose.model, "notice-only", (), True,
                             f"there is no choice to make: we are told of it, and do it, under {purpose.lawful_basis}")
    return ConsentStatus(purpose.id, purpose.model, "legal-obligation", (), True,
                         f"the law requires it: {purpose.lawful_basis}")


def permits(purpose: Purpose, latest: ConsentRecord | None) -> tuple[bool, str]:
    """Whether processing for the purpose has a basis, and why, in plain words."""
    state = latest.state if latest else None
    if purpose.model is ConsentModel.LEGAL_OBLIGATION:
        return True, f"a legal obligation: {purpose.lawful_basis}"
    if purpose.model is ConsentModel.OPT_IN:
        if state is ConsentState.GIVEN:
            return True, f"consent given on {iso(latest.at)}"
        return False, "consent has not been given" if state is None else f"consent was {state.value}"
    if state in (ConsentState.REFUSED, ConsentState.WITHDRAWN):
        return False, f"the person {state.value} on {iso(latest.at)}"
    return True, f"{purpose.model.value}: {purpose.lawful_basis}"


@dataclass(frozen=True)
class Agreement:
    """A data-sharing agreement. A new version replaces the old; old versions are kept."""

    id: str
    recipient: str  # organisation id
    purpose: str
    attributes: tuple[str, ...]
    mode: Mode
    retention_days: int
    version: int
    created_at: datetime
    revoked_at: datetime | None = None
    checks: tuple[str, ...] = field(default=())  # yes/no questions the recipient may ask
    events: tuple[str, ...] = field(default=())  # event types (or patterns) it may be told of by subscription

    @property
    def active(self) -> bool:
        return self.revoked_at is None
