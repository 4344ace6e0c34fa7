"""Data-sharing agreements: who may receive which attributes, for which purpose, and how."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..domain.clock import Clock
from ..domain.consent import Agreement, Mode, Purpose
from ..domain.people import AttributeSpec
from .errors import InvalidAgreementError, NotFoundError, UnknownOrganisationError, UnknownPurposeError


class Agreements:
    def __init__(self, store, org_store, attributes: Mapping[str, AttributeSpec], purposes: Mapping[str, Purpose],
                 checks: Sequence[str], clock: Clock, event_types: Sequence[str] = ()) -> None:
        self.store, self.org_store = store, org_store
        self.event_types = tuple(event_types)
        self.attributes, self.purposes, self.checks, self.clock = attributes, purposes, set(checks), clock

    def put(self, agreement_id: str, recipient_name: str, purpose: str, attributes: Sequence[str],
            mode: str = "pseudonymised", retention_days: int = 90, checks: Sequence[str] = (),
            events: Sequence[str] = ()) -> Agreement:
        """Create an agreement, or a new version of it.

        ``events`` are the event types (exact, or patterns such as ``uk.gov.gro.*``) the recipient
        may subscribe to under it; each must match a type the pack declares.
        """
        org = self.org_store.organisation(recipient_name)
        if org is None:
            raise UnknownOrganisationError(f"no organisation named {recipient_name!r}")
        if purpose not in self.purposes:
            raise UnknownPurposeError(f"purpose {purpose!r} is not declared")
        unknown = [a for a in attributes if a not in self.attributes]
        if unknown:
            raise InvalidAgreementError(f"the agreement names attributes that do not exist: {', '.join(unknown)}")
        bad_checks = [c for c in checks if c not in self.checks]
        if bad_checks:
            raise InvalidAgreementError(f"the agreement names checks that do not exist: {', '.join(bad_checks)}")
        from fnmatch import fnmatchcase

        declared = list(self.event_types)
        bad_events = [e for e in events if declared and not any(fnmatchcase(t, e) for t in declared)]
        if bad_events:
            raise InvalidAgreementError(f"the agreement names event types the pack does not declare: "
                                        f"{', '.join(bad_events)}")
        try:
            mode_ = Mode(mode)
        except ValueError:
            raise InvalidAgreementError(f"mode is identified or pseudonymised, not {mode!r}") from None
        if retention_days < 1:
            raise InvalidAgreementError("retention is at least one day")
        versions = self.store.agreement_versions(agreement_id)
        if versions and (versions[-1].recipient != org["id"] or versions[-1].purpose != purpose):
            raise InvalidAgreementError(f"agreement {agreement_id!r} is for another recipient or purpose")
        agreement = Agreement(agreement_id, org["id"], purpose, tuple(attributes), mode_, retention_days,
                              (versions[-1].version + 1) if versions else 1, self.clock.now(), None, tuple(checks),
                              tuple(events))
        self.store.add_agreement(agreement)
        return agreement

    def revoke(self, agreement_id: str) -> None:
        if not self.store.revoke_agreement(agreement_id, self.clock.now()):
            raise NotFoundError(f"no agreement {agreement_id!r} in force")

    def versions(self, agreement_id: str) -> list[Agreement]:
        return self.store.agreement_versions(agreement_id)
