"""Messages to people: channels, statuses, preferences and the fallback chain.

Pure: the functions here take the state of a message and what happened, and say what
happens next. Nobody is left out for not being online: the chain always ends in a letter
and, failing that, a member of staff making contact.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any


class Channel(str, enum.Enum):
    INBOX = "inbox"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    ASSISTED = "assisted"  # a task for staff to make contact by phone or in person


DEFAULT_CHAIN = (Channel.INBOX, Channel.SMS, Channel.EMAIL, Channel.LETTER, Channel.ASSISTED)
ONLINE = frozenset({Channel.INBOX, Channel.EMAIL})
QUIET = frozenset({Channel.SMS, Channel.EMAIL})  # channels that buzz a phone: held in quiet hours
ALWAYS_LAST = (Channel.LETTER, Channel.ASSISTED)


class Status(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"  # handed over; waiting for a receipt (or, in the inbox, to be read)
    DELIVERED = "delivered"
    SENT = "sent"  # handed to a network that sends no receipt (texts abroad): final, not confirmed
    TEMPORARY_FAILURE = "temporary-failure"  # e.g. phone off, inbox full: retried
    PERMANENT_FAILURE = "permanent-failure"  # e.g. no such number: the next channel
    TECHNICAL_FAILURE = "technical-failure"  # a provider error or timeout: retried
    CANCELLED = "cancelled"


TO_SEND = frozenset({Status.QUEUED, Status.TEMPORARY_FAILURE, Status.TECHNICAL_FAILURE})
PENDING = TO_SEND | {Status.SENDING}
TERMINAL = frozenset({Status.DELIVERED, Status.SENT, Status.PERMANENT_FAILURE, Status.CANCELLED})
REACHED = frozenset({Status.DELIVERED, Status.SENT})

# Every status GOV.UK Notify documents for its API and its delivery-receipt callbacks, and
# what it means here. Email: created, sending, delivered, permanent-failure,
# temporary-failure, technical-failure. Text message: the same, and pending (waiting for the
# network) and sent (sent to an international number; the network gives no receipt, so it is
# final). Letter: accepted (sent to the printer), received (printed and posted), cancelled,
# pending-virus-check, virus-scan-failed and validation-failed (precompiled letters), and
# technical-failure and permanent-failure.
NOTIFY_STATUSES: dict[str, tuple[Status, str]] = {
    "created": (Status.SENDING, "the provider has the message and will send it"),
    "sending": (Status.SENDING, "the provider has sent it on and waits for a receipt"),
    "pending": (Status.SENDING, "the network has not yet said whether it was delivered"),
    "pending-virus-check": (Status.SENDING, "the provider is checking the letter for viruses"),
    "accepted": (Status.SENDING, "the provider has sent the letter to be printed"),
    "delivered": (Status.DELIVERED, "delivered"),
    "received": (Status.DELIVERED, "the letter was printed and posted"),
    "sent": (Status.SENT, "sent to an international number; no receipt comes from abroad"),
    "temporary-failure": (Status.TEMPORARY_FAILURE, "the provider could not deliver it yet "
                                                    "(phone off, inbox full)"),
    "technical-failure": (Status.TECHNICAL_FAILURE, "the provider had a technical problem"),
    "permanent-failure": (Status.PERMANENT_FAILURE, "the address or number does not exist"),
    "virus-scan-failed": (Status.PERMANENT_FAILURE, "the letter failed the provider's virus scan"),
    "validation-failed": (Status.PERMANENT_FAILURE, "the provider found the letter could not be printed "
                                                    "as it is (its address or layout)"),
    "cancelled": (Status.CANCELLED, "the letter was cancelled at the provider and will not be posted"),
}
RETRIED = frozenset({Status.TEMPORARY_FAILURE, Status.TECHNICAL_FAILURE})


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``21:00-08:00``: no texts or emails from 9 at night to 8 in the morning."""
        try:
            a, b = text.split("-")
            return cls(time.fromisoformat(a.strip()), time.fromisoformat(b.strip()))
        except ValueError:
            raise ValueError(f"quiet hours are written like 21:00-08:00; got {text!r}") from None

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def release(self, local: datetime) -> datetime | None:
        """When a message held at ``local`` (a local time) may go; None if it may go now."""
        if not self.contains(local.time().replace(tzinfo=None)):
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Preferences:
    channels: tuple[Channel, ...] = ()  # most preferred first; the rest of the chain follows
    language: str = "en"
    large_print: bool = False
    easy_read: bool = False
    quiet_hours: QuietHours | None = None
    offline: bool = False  # not online: skip the inbox and email

    def as_dict(self) -> dict[str, Any]:
        return {"channels": [c.value for c in self.channels], "language": self.language,
                "large_print": self.large_print, "easy_read": self.easy_read,
                "quiet_hours": str(self.quiet_hours) if self.quiet_hours else None, "offline": self.offline}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preferences:
        unknown = set(d) - {"channels", "language", "large_print", "easy_read", "quiet_hours", "offline"}
        if unknown:
            raise ValueError(f"unknown preference {sorted(unknown)[0]!r}")
        try:
            channels = tuple(Channel(c) for c in d.get("channels") or ())
        except ValueError:
            raise ValueError(f"channels are {', '.join(c.value for c in Channel)}; "
                             f"got {d.get('channels')!r}") from None
        qh = d.get("quiet_hours")
        return cls(channels=channels, language=str(d.get("language") or "en"),
                   large_print=bool(d.get("large_print")), easy_read=bool(d.get("easy_read")),
                   quiet_hours=QuietHours.parse(qh) if qh else None, offline=bool(d.get("offline")))


def chain_for(prefs: Preferences) -> tuple[Channel, ...]:
    """The order to try channels in: the person's choices, then the rest, letter and staff last."""
    order = [c for c in prefs.channels if c not in ALWAYS_LAST]
    order += [c for c in DEFAULT_CHAIN if c not in order and c not in ALWAYS_LAST]
    if Channel.LETTER in prefs.channels:  # someone who asks for letters gets them first
        order.insert(0, Channel.LETTER)
    if prefs.offline:
        order = [c for c in order if c not in ONLINE]
    order += [c for c in ALWAYS_LAST if c not in order]
    return tuple(order)


@dataclass(frozen=True)
class Step:
    """One line of a message's channel history."""

    at: datetime
    channel: Channel
    status: Status
    detail: str = ""
    provider: str | None = None


@dataclass(frozen=True)
class Message:
    id: str
    key: str
    person: str
    chain: tuple[Channel, ...]
    position: int
    status: Status
    attempts: int  # on the current channel
    next_at: datetime | None  # when to send, retry, or give up waiting for a receipt
    journey: str | None = None
    purpose: str | None = None
    provider: str | None = None
    reference: str | None = None

    @property
    def channel(self) -> Channel:
        return self.chain[self.position]


@dataclass(frozen=True)
class Policy:
    """How long to wait on each channel, and how often to retry."""

    wait: dict[Channel, timedelta] = field(default_factory=lambda: {
        Channel.INBOX: timedelta(days=3), Channel.SMS: timedelta(hours=4), Channel.EMAIL: timedelta(hours=4),
        Channel.LETTER: timedelta(days=10), Channel.ASSISTED: timedelta(days=30)})
    attempts: int = 5
    backoff: timedelta = timedelta(seconds=2)

    def retry_at(self, now: datetime, attempts: int) -> datetime:
        return now + self.backoff * (2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Outcome:
    """What a channel said about one message."""

    status: Status
    detail: str = ""
    reference: str | None = None
    provider: str | None = None
    body_sha256: str | None = None  # the SHA-256 of the exact bytes handed to the provider, when any were


@dataclass(frozen=True)
class Transition:
    message: Message
    history: tuple[Step, ...]

    @property
    def finished(self) -> bool:
        return self.message.status in TERMINAL


def _move_on(m: Message, now: datetime, why: str, history: list[Step], status: Status) -> Transition:
    history.append(Step(now, m.channel, status, why, m.provider))
    if m.position + 1 >= len(m.chain):
        return Transition(replace(m, status=Status.PERMANENT_FAILURE, next_at=None), tuple(history))
    nxt = replace(m, position=m.position + 1, status=Status.QUEUED, attempts=0, next_at=now,
                  provider=None, reference=None)
    history.append(Step(now, nxt.channel, Status.QUEUED, f"next channel after {m.channel.value}"))
    return Transition(nxt, tuple(history))


def settle(m: Message, outcome: Outcome, now: datetime, policy: Policy) -> Transition:
    """Apply a channel's outcome (or a receipt) to a message."""
    if m.status in TERMINAL:
        return Transition(m, ())
    m = replace(m, provider=outcome.provider or m.provider, reference=outcome.reference or m.reference)
    if outcome.status in REACHED or outcome.status is Status.CANCELLED:
        m = replace(m, status=outcome.status, next_at=None)
        return Transition(m, (Step(now, m.channel, outcome.status, outcome.detail, m.provider),))
    if outcome.status is Status.SENDING:
        m = replace(m, status=Status.SENDING, next_at=now + policy.wait[m.channel])
        return Transition(m, (Step(now, m.channel, Status.SENDING, outcome.detail, m.provider),))
    if outcome.status is Status.PERMANENT_FAILURE:
        return _move_on(m, now, outcome.detail, [], Status.PERMANENT_FAILURE)
    if outcome.status in RETRIED:
        attempts = m.attempts + 1
        if attempts >= policy.attempts:
            why = f"{outcome.detail}; gave up after {attempts} attempts"
            return _move_on(replace(m, attempts=attempts), now, why, [], outcome.status)
        m = replace(m, status=outcome.status, attempts=attempts, next_at=policy.retry_at(now, attempts))
        return Transition(m, (Step(now, m.channel, outcome.status, outcome.detail, m.provider),))
    raise ValueError(f"a channel cannot report {outcome.status.value!r}")


def overdue(m: Message, now: datetime) -> Transition:
    """Nothing heard by the deadline: try the next channel."""
    return _move_on(m, now, f"not delivered within the {m.channel.value} deadline", [], Status.SENDING)


def skip(m: Message, now: datetime, why: str) -> Transition:
    """This channel cannot be used for this person now (not configured, no address known)."""
    return _move_on(m, now, why, [], Status.PERMANENT_FAILURE)


def to_staff(m: Message, now: datetime, why: str) -> Transition:
    """This channel cannot reach the person and a member of staff must (a letter with no postable
    address): fail the channel with the reason and go straight to assisted contact."""
    later = m.chain[m.position + 1:]
    if Channel.ASSISTED not in later:
        return skip(m, now, why)
    history = [Step(now, m.channel, Status.PERMANENT_FAILURE, why, m.provider)]
    nxt = replace(m, position=m.chain.index(Channel.ASSISTED, m.position + 1), status=Status.QUEUED, attempts=0,
                  next_at=now, provider=None, reference=None)
    history.append(Step(now, nxt.channel, Status.QUEUED, f"a member of staff to make contact: {why}"))
    return Transition(nxt, tuple(history))


def cancel(m: Message, now: datetime, why: str) -> Transition:
    if m.status in TERMINAL:
        return Transition(m, ())
    m = replace(m, status=Status.CANCELLED, next_at=None)
    return Transition(m, (Step(now, m.channel, Status.CANCELLED, why),))


def hold(m: Message, now: datetime, until: datetime, why: str | None) -> Transition:
    """Send later (quiet hours, a rate limit). ``why`` None leaves no line in the history."""
    m = replace(m, next_at=until)
    return Transition(m, (Step(now, m.channel, m.status, why),) if why else ())
