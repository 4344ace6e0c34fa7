"""Errors named for the rule that was broken. The API turns each into RFC 9457 problem details."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    slug = "problem"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://civicmoments.org/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def _problem(slug: str, status: int, title: str) -> type[Problem]:
    name = "".join(p.capitalize() for p in slug.split("-")) + "Error"
    return type(name, (Problem,), {"slug": slug, "status": status, "title": title})


MalformedJsonError = _problem("malformed-json", 400, "The body is not valid JSON")
MalformedEventError = _problem("malformed-event", 400, "The event is not a valid CloudEvent")
MissingAttributeError = _problem("missing-attribute", 400, "A required CloudEvents attribute is missing")
UnsupportedMediaTypeError = _problem("unsupported-media-type", 415, "This content type is not accepted")
PayloadTooLargeError = _problem("payload-too-large", 413, "The request is larger than the limit")
UnknownEventTypeError = _problem("unknown-event-type", 422, "The event type is not registered")
SchemaViolationError = _problem("schema-violation", 422, "The event data does not match its schema")
CsvMappingError = _problem("csv-mapping", 422, "The CSV file cannot be mapped to events")
MalformedCsvRowError = _problem("malformed-csv-row", 422, "The CSV row does not fit the header")
CsvValueError = _problem("csv-value", 422, "A CSV value does not have its column's type")
SourceNotOwnedError = _problem("source-not-owned", 403, "The source belongs to another organisation")
EventTypeNotInScopeError = _problem("event-type-not-in-scope", 403, "The organisation may not send this event type")
PermissionDeniedError = _problem("permission-denied", 403, "The organisation may not do this")
DuplicateEventIdError = _problem("duplicate-event-id", 409, "This source already sent a different event with this id")
CredentialMissingError = _problem("credential-missing", 401, "No bearer token was sent")
CredentialInvalidError = _problem("credential-invalid", 401, "The bearer token is not valid")
CredentialExpiredError = _problem("credential-expired", 401, "The bearer token has expired")
CredentialRevokedError = _problem("credential-revoked", 401, "The bearer token was revoked")
NotFoundError = _problem("not-found", 404, "Not found")
OrganisationExistsError = _problem("organisation-exists", 409, "An organisation with this name exists")
UnknownPseudonymError = _problem("unknown-pseudonym", 422, "The subject is not a pseudonym given to this organisation")
UnknownPersonError = _problem("unknown-person", 404, "No such person")
UnknownAttributeError = _problem("unknown-attribute", 422, "The attribute is not declared")
InvalidIdentifierError = _problem("invalid-identifier", 422, "The identifier breaks its scheme's rules")
IdentifierHeldError = _problem("identifier-held", 409, "Another person already holds this identifier")
WrongValueTypeError = _problem("wrong-value-type", 422, "The value has the wrong type")
DomainNotAuthorisedError = _problem("domain-not-authorised", 403, "The organisation may not record facts in this domain")
UnknownPurposeError = _problem("unknown-purpose", 422, "The purpose is not declared")
UnknownFormError = _problem("unknown-form", 422, "The form or service is not declared")
ConsentNeverGivenError = _problem("consent-never-given", 409, "There is no consent to withdraw")
ExportReasonRequiredError = _problem("export-reason-required", 422, "A full export needs a recorded reason")
NoChoiceError = _problem("no-choice-for-purpose", 409, "This purpose offers no choice")
NotObjectedError = _problem("not-objected", 409, "There is no objection to undo")
InvalidAgreementError = _problem("invalid-agreement", 422, "The agreement is not valid")
UnknownOrganisationError = _problem("unknown-organisation", 422, "No such organisation")
InvalidPreferencesError = _problem("invalid-preferences", 422, "The message preferences are not valid")
InvalidReceiptError = _problem("invalid-receipt", 422, "The delivery receipt is not valid")
InvalidDecisionDateError = _problem("invalid-decision-date", 422, "The day to decide for is not a date")
ReceiptsNotConfiguredError = _problem("receipts-not-configured", 503, "Delivery receipts are not set up")
WrongChannelError = _problem("wrong-channel", 409, "The message is not waiting on this channel")
TooManyChecksError = _problem("too-many-checks", 429, "Too many checks: slow down")
InvalidTokenError = _problem("invalid-travel-token", 422, "The travel token is not valid")
InvalidMonthError = _problem("invalid-month", 422, "The month is not valid")
InvalidBookingError = _problem("invalid-booking", 422, "The interview booking is not valid")
BookingNotHeldError = _problem("booking-not-held", 404, "No such interview booking is held")
BookingConsentError = _problem("consent-not-given", 403, "The booking cannot go to the partner without consent")
UnknownMomentProblem = _problem("unknown-moment", 404, "No such moment")
UnknownMomentVersionProblem = _problem("unknown-moment-version", 404, "The moment never ran at this version")
UnknownGroupProblem = _problem("unknown-group", 422, "Not a group insights split by")
InsightsNotPermittedError = _problem("insights-not-permitted", 403, "Your roles do not include insights")
InvalidPeriodError = _problem("invalid-period", 422, "The period is not valid")
PartnerUnavailableError = _problem("partner-unavailable", 503, "The partner did not answer")


class SlotTakenError(Problem):
    """Someone else holds the slot at the partner; ``free_slots`` are the job's slots still free."""

    slug, status, title = "slot-taken", 409, "The interview slot is taken"

    def __init__(self, detail: str, job: str, free_slots: list[str]) -> None:
        super().__init__(detail)
        self.job, self.free_slots = job, free_slots

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "job": self.job, "free_slots": self.free_slots}
CsrfTokenMissingError = _problem("csrf-token-missing", 403, "A request from the console needs its CSRF token")
OfficerExistsError = _problem("officer-exists", 409, "An officer with this name or subject exists")
UnknownRoleError = _problem("unknown-role", 422, "The role is not declared")
NestingTooDeepError = _problem("nesting-too-deep", 422, "The JSON is nested deeper than the limit")
NumberOutOfRangeError = _problem("number-out-of-range", 422, "A number is larger than the limit")
ValueTooLongError = _problem("value-too-long", 422, "A value is longer than the limit")
UnstorableTextError = _problem("unstorable-text", 422, "Text holds a character that cannot be stored")
EventTimeOutOfRangeError = _problem("event-time-out-of-range", 422, "The event's time is outside the accepted window")
UnstorableEventError = _problem("unstorable-event", 422, "The database could not store this event")


class SignInConfigurationError(ValueError):
    """Signing in is not configured: no identity provider, or no client secret, outside demo mode."""
