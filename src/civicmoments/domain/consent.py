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

    def receipt(self, purpose: Purpose, controller: str) -> dict[str, Any]:
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
            "how_to_withdraw": f"civic consents withdraw {self.person} {purpose.id}, "
                               f"or DELETE /v1/people/{self.person}/consents/{purpose.id}",
        }


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

    @property
    def active(self) -> bool:
        return self.revoked_at is None
