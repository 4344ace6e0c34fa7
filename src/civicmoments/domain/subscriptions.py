"""Subscriptions: an organisation asks to be told of events, under a data-sharing agreement.

Shaped on the CNCF CloudEvents Subscriptions API (v0.1 draft): a subscription has an id,
a ``sink`` (where events go), a ``protocol`` (``HTTP`` webhooks; ``NATS`` with JetStream),
and ``filters`` (``exact``/``prefix`` on ``type``, ``source`` and ``subject``). Ours also
names the **agreement** it relies on: the agreement's purpose decides what the gate lets
through, its ``events`` list which event types may be told at all, and its attributes what
an event's ``data`` may hold.

Delivery is at least once, per subscription; the CloudEvent ``id`` is the platform's event
id (stable across retries and replays), so a subscriber deduplicates by it.

Everything here is pure: matching, the retry schedule, and the CloudEvents binary-mode
headers (CloudEvents HTTP protocol binding 1.0, section 3.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from .clock import iso

PROTOCOLS = ("HTTP", "NATS")
FILTER_DIALECTS = ("exact", "prefix")
FILTER_ATTRIBUTES = ("type", "source", "subject")
MAX_ATTEMPTS = 8  # then the delivery is a dead letter
BACKOFF_SECONDS = (1, 5, 30, 120, 600, 1800, 3600)  # before attempt 2, 3, ...; the last repeats


class InvalidSubscriptionError(ValueError):
    """A subscription request that cannot be accepted; ``field`` names what is wrong."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Subscription:
    """One organisation's standing request to be told of matching events.

    ``types`` are exact CloudEvents types or glob patterns (``uk.gov.gro.*``); ``source_prefix``
    and ``subject_prefix`` narrow further (empty: any). ``sink`` is an https URL (any http URL
    in demo mode) for ``HTTP``; for ``NATS`` it is the subject space the platform publishes to
    (``civic.out.<organisation>``). ``cursor`` is the inbox sequence number fanned out so far.
    """

    id: str
    org_id: str
    agreement: str
    purpose: str
    types: tuple[str, ...]
    sink: str
    protocol: str = "HTTP"
    source_prefix: str = ""
    subject_prefix: str = ""
    created_at: datetime | None = None
    deleted_at: datetime | None = None
    cursor: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.deleted_at is None

    def matches(self, type_: str, source: str, subject: str) -> bool:
        """Whether an event with these attributes passes the subscription's filters."""
        return (any(fnmatchcase(type_, t) for t in self.types) and source.startswith(self.source_prefix)
                and subject.startswith(self.subject_prefix))

    def as_dict(self) -> dict[str, Any]:
        """The subscription as the CloudEvents Subscriptions API shows it."""
        filters: list[dict[str, Any]] = [{"any": [{"exact": {"type": t}} if not _glob(t) else
                                                  {"prefix": {"type": t.rstrip("*")}} for t in self.types]}]
        if self.source_prefix:
            filters.append({"prefix": {"source": self.source_prefix}})
        if self.subject_prefix:
            filters.append({"prefix": {"subject": self.subject_prefix}})
        return {"id": self.id, "protocol": self.protocol, "sink": self.sink, "filters": filters,
                "types": list(self.types), "agreement": self.agreement, "purpose": self.purpose,
                "created_at": self.created_at.isoformat() if self.created_at else None}


def _glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def check_request(types: Sequence[str], sink: str, protocol: str, demo_mode: bool) -> None:
    """Raise ``InvalidSubscriptionError`` naming the field when a request is malformed.

    A webhook sink must be https, except in demo mode where loopback http is allowed; a
    NATS sink is set by the platform, so one given is refused. Types are non-empty strings.
    """
    if protocol not in PROTOCOLS:
        raise InvalidSubscriptionError(f"protocol is one of {', '.join(PROTOCOLS)}, not {protocol!r}", "protocol")
    if not types or any(not isinstance(t, str) or not t.strip() or len(t) > 300 for t in types):
        raise InvalidSubscriptionError("types names at least one event type (exact, or a pattern such as "
                                       "uk.gov.gro.*), each up to 300 characters", "types")
    if protocol == "HTTP":
        parts = urlsplit(sink or "")
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise InvalidSubscriptionError("sink is the https URL events are posted to", "sink")
        if parts.scheme == "http" and not demo_mode:
            raise InvalidSubscriptionError("sink must be an https URL: events carry personal data", "sink")
        if len(sink) > 2000:
            raise InvalidSubscriptionError("sink is at most 2,000 characters", "sink")


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed tries (UTC), or None when it is a dead letter."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)])


def binary_headers(event_id: str, source: str, type_: str, subject: str, time: datetime,
                   subscription: str) -> dict[str, str]:
    """CloudEvents 1.0 binary-mode HTTP headers; the body is the event's ``data`` as JSON.

    ``subject`` is what the subscriber may know the person by (a pseudonym unless the
    agreement is identified). ``civicsubscription`` is an extension attribute naming the
    subscription, so one endpoint can serve several.
    """
    return {"ce-specversion": "1.0", "ce-id": event_id, "ce-source": source, "ce-type": type_,
            "ce-subject": subject, "ce-time": iso(time),
            "ce-civicsubscription": subscription, "content-type": "application/json"}
