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
CsvMappingError = _problem("csv-mapping", 422, "A CSV row cannot be turned into an event")
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
UnknownPersonError = _problem("unknown-person", 404, "No such person")
UnknownAttributeError = _problem("unknown-attribute", 422, "The attribute is not declared")
WrongValueTypeError = _problem("wrong-value-type", 422, "The value has the wrong type")
DomainNotAuthorisedError = _problem("domain-not-authorised", 403, "The organisation may not record facts in this domain")
UnknownPurposeError = _problem("unknown-purpose", 422, "The purpose is not declared")
UnknownFormError = _problem("unknown-form", 422, "The form or service is not declared")
ConsentNeverGivenError = _problem("consent-never-given", 409, "There is no consent to withdraw")
InvalidAgreementError = _problem("invalid-agreement", 422, "The agreement is not valid")
UnknownOrganisationError = _problem("unknown-organisation", 422, "No such organisation")
InvalidPreferencesError = _problem("invalid-preferences", 422, "The message preferences are not valid")
InvalidReceiptError = _problem("invalid-receipt", 422, "The delivery receipt is not valid")
ReceiptsNotConfiguredError = _problem("receipts-not-configured", 503, "Delivery receipts are not set up")
WrongChannelError = _problem("wrong-channel", 409, "The message is not waiting on this channel")
TooManyChecksError = _problem("too-many-checks", 429, "Too many checks: slow down")
InvalidTokenError = _problem("invalid-travel-token", 422, "The travel token is not valid")
InvalidMonthError = _problem("invalid-month", 422, "The month is not valid")
InvalidBookingError = _problem("invalid-booking", 422, "The interview booking is not valid")
OfficerExistsError = _problem("officer-exists", 409, "An officer with this name or subject exists")
UnknownRoleError = _problem("unknown-role", 422, "The role is not declared")
