"""The outbound boundary: every hand-over of personal data to the outside passes here.

Partner shares, effects posted to ``CIVIC_EFFECTS_URL``, and messages handed to an SMS,
email or print supplier each become one access-log entry that names the recipient, the
purpose, the attribute names and the SHA-256 of the exact bytes sent, so the log says
what left, byte for byte.

The **fence** keeps a withdrawal honest about what is in flight: a sender registers the
(person, purpose) it is about to send for, then re-checks consent, and only then lets the
body go; a withdrawal records itself, then waits until no send for that person and
purpose is in flight. Either the send saw the withdrawal (and stopped), or the withdrawal
returns only after the send finished. The fence is per process: the engine's effect
workers and the API share it when they run in one process (``civic serve``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain.clock import Clock, iso
from .ports import EffectResult


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Parcel:
    """One body about one person, ready to leave. ``person`` is the platform's id and is never sent."""

    reference: str  # opaque: the receiver's idempotency key and the reply reference
    recipient: str  # the organisation id (or provider name) it goes to
    recipient_name: str  # routes it to the recipient's endpoint
    person: str
    purpose: str
    channel: str
    attributes: tuple[str, ...]  # the names of the values in the body
    body: bytes
    log: Mapping[str, Any] = field(default_factory=dict)  # more fields for the access-log entry
    origin: tuple[str, str] = ("", "")  # the journey and step it came from: kept on the platform, never sent


class Transport(Protocol):
    """Delivers parcels. Before each body leaves it enters the fence, and sends only if it may."""

    def deliver(self, parcels: Sequence[Parcel], fence: Fence) -> list[EffectResult]: ...


# Why a parcel checked with its batch stops at the last moment: a withdrawal or an objection
# for its person and purpose was recorded after its batch was checked.
STOPPED_MEANWHILE = "a withdrawal or objection for this purpose was recorded while it waited to be sent"


class Fence:
    """Withdrawals wait for sends on the wire; sends re-check consent at the last moment.

    ``may_send(parcel)`` says None, or why the parcel may not leave now; ``may_send_many(parcels)``
    says it for a batch at once (one read of the agreement and the consents for all of them),
    and defaults to asking ``may_send`` for each.

    A batch notes the moment before its check (``Fence.sending_all``). A withdrawal marks its
    person and purpose with the moment it settles (``settle``), then waits for their bodies on the
    wire. Each parcel, just before it goes, looks for a mark made since its batch's check: so
    either its check saw the withdrawal, or it was on the wire before the mark and the
    withdrawal waited for it, or it sees the mark and stops."""

    def __init__(self, may_send: Callable[[Parcel], str | None] | None = None,
                 may_send_many: Callable[[Sequence[Parcel]], list[str | None]] | None = None) -> None:
        self.may_send = may_send or (lambda parcel: None)  # None, or why this parcel may not leave now
        self.may_send_many = may_send_many or (lambda parcels: [self.may_send(p) for p in parcels])
        self.inflight: Counter[tuple[str, str]] = Counter()  # bodies on the wire
        self.marks: dict[tuple[str, str], float] = {}  # withdrawals, by the monotonic time they settled
        self.batches: Counter[float] = Counter()  # the check times of the batches still open
        self.cond = threading.Condition()

    @contextmanager
    def sending(self, parcel: Parcel) -> Iterator[str | None]:
        """Yields None when the body may leave now, or the reason it may not."""
        with self.sending_all([parcel]) as batch, batch.sending(0) as why:
            yield why

    @contextmanager
    def sending_all(self, parcels: Sequence[Parcel]) -> Iterator[Batch]:
        """For a batch: checks every parcel together and yields the ``Batch``. Send each parcel
        inside ``batch.sending(i)``, which says at that last moment whether it may still go."""
        with self.cond:
            checked_at = time.monotonic()
            self.batches[checked_at] += 1
        batch = Batch(self, parcels, checked_at)
        try:
            batch.whys = list(self.may_send_many(parcels)) if parcels else []
            yield batch
        finally:
            with self.cond:
                batch.leave(range(len(parcels)))
                self.batches[checked_at] -= 1
                if self.batches[checked_at] <= 0:
                    del self.batches[checked_at]
                oldest = min(self.batches, default=None)  # a mark older than every open batch is spent
                self.marks = {k: at for k, at in self.marks.items() if oldest is not None and at >= oldest}
                self.cond.notify_all()

    def settle(self, person: str, purpose: str, timeout: float = 60.0) -> bool:
        """Call once a withdrawal or objection is recorded: marks it, then returns once no body for
        this person and purpose is on the wire (False if ``timeout`` s passed). From the mark on,
        a parcel checked before it stops instead of leaving."""
        key = (person, purpose)
        with self.cond:
            self.marks[key] = time.monotonic()
            return self.cond.wait_for(lambda: self.inflight.get(key, 0) == 0, timeout)


class Batch:
    """Parcels checked at the fence together (``Fence.sending_all``)."""

    def __init__(self, fence: Fence, parcels: Sequence[Parcel], checked_at: float) -> None:
        self.fence, self.parcels, self.checked_at = fence, parcels, checked_at
        self.whys: list[str | None] = [None] * len(parcels)
        self._on_wire = [False] * len(parcels)

    def enter(self, i: int) -> str | None:
        """Parcel ``i`` is about to leave: None, and it is on the wire until ``leave``; or why it may
        not (its batch's check, or a withdrawal marked since)."""
        if self.whys[i] is not None:
            return self.whys[i]
        p = self.parcels[i]
        key = (p.person, p.purpose)
        with self.fence.cond:
            if self.fence.marks.get(key, float("-inf")) >= self.checked_at:
                return STOPPED_MEANWHILE
            self.fence.inflight[key] += 1
            self._on_wire[i] = True
        return None

    def leave(self, indexes: Iterable[int]) -> None:
        """These parcels are answered (or never left): a withdrawal need not wait for them."""
        with self.fence.cond:
            for i in indexes:
                if not self._on_wire[i]:
                    continue
                self._on_wire[i] = False
                key = (self.parcels[i].person, self.parcels[i].purpose)
                self.fence.inflight[key] -= 1
                if self.fence.inflight[key] <= 0:
                    del self.fence.inflight[key]
            self.fence.cond.notify_all()

    @contextmanager
    def sending(self, i: int) -> Iterator[str | None]:
        """Yields ``enter(i)``; send parcel ``i`` inside the block, whose end is ``leave([i])``."""
        try:
            yield self.enter(i)
        finally:
            self.leave([i])


def handover_entry(at: str, recipient: str, purpose: str, person: str, channel: str,
                   attributes: Sequence[str], body: bytes, **more: Any) -> dict[str, Any]:
    """The access-log entry for one hand-over: what left, to whom, why, and the hash of the bytes."""
    return {"at": at, "recipient": recipient, "purpose": purpose, "person": person, "channel": channel,
            "outcome": "disclosed", "attributes": list(attributes), "body_sha256": sha256(body),
            "body_bytes": len(body), **more}


class Outbound:
    """Hands parcels to a transport and writes one access-log entry for each body that left."""

    def __init__(self, audit, clock: Clock, fence: Fence) -> None:
        self.audit, self.clock, self.fence = audit, clock, fence

    def hand_over(self, parcels: Sequence[Parcel], transport: Transport) -> list[EffectResult]:
        if not parcels:
            return []
        results = transport.deliver(parcels, self.fence)
        at = iso(self.clock.now())
        entries = []
        for p, r in zip(parcels, results, strict=True):
            if r.error and r.error.startswith(STOPPED):
                entries.append({"at": at, "recipient": p.recipient, "purpose": p.purpose, "person": p.person,
                                "channel": p.channel, "outcome": "refused", "rule": "stopped-before-sending",
                                "reason": r.error})
                continue
            entries.append(handover_entry(at, p.recipient, p.purpose, p.person, p.channel, p.attributes, p.body,
                                          delivery=r.verdict.value, **p.log))
        self.audit.append(entries)
        return results

    def record(self, entries: Sequence[dict[str, Any]]) -> None:
        """Log hand-overs a channel performed itself (it built the bytes; see ``handover_entry``)."""
        if entries:
            self.audit.append(entries)


STOPPED = "stopped before sending:"


def stopped(why: str) -> EffectResult:
    """The result of a send the fence stopped at the last moment."""
    return EffectResult.fail(f"{STOPPED} {why}")
