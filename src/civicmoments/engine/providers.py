"""Providers for a channel, in priority order, with failover and rate limits.

Failover is data, as in GOV.UK Notify: each provider has a priority. When a provider's
recent error rate crosses the threshold it is set aside for a cool-down, and traffic goes
to the next; after the cool-down it is tried again. Each provider has its own rate limit.

With ``shared`` (``adapters/store/limits.SharedLimits``) the rate limit and the setting aside
are kept in the database, so every process sending through a provider shares one limit and
one view of its health; without it they are this process's own.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..domain.messages import Outcome, Status
from ..logs import get
from .ports import ChannelProvider, Outgoing

log = get("civic.providers")


@dataclass
class Bucket:
    """A token bucket: ``rate`` sends a second, with up to one second's worth in hand."""

    rate: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.rate

    def take(self, wanted: int, now: float) -> int:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        got = min(wanted, int(self.tokens))
        self.tokens -= got
        return got


@dataclass
class Allowance:
    """At most ``rate`` a second from the bucket ``key``, for work that has no channel pool (the
    effects posted to ``CIVIC_EFFECTS_URL``). With ``shared`` (``SharedLimits``) every process takes
    from one bucket in the database; without it, from this process's own. ``take(wanted)`` returns
    how many may go now (0 to ``wanted``); ``give_back(n)`` returns tokens taken but not used."""

    key: str
    rate: float
    shared: object | None = None
    bucket: Bucket | None = None
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.shared is None:
            self.bucket = Bucket(self.rate, at=self.monotonic())

    def take(self, wanted: int) -> int:
        if self.shared is not None:
            return self.shared.take(self.key, self.rate, wanted)
        return self.bucket.take(wanted, self.monotonic())

    def give_back(self, n: int) -> None:
        if n <= 0:
            return
        if self.shared is not None:
            self.shared.give_back(self.key, self.rate, n)
        else:
            self.bucket.tokens = min(self.rate, self.bucket.tokens + n)


@dataclass
class Health:
    window: int = 20
    threshold: float = 0.5
    min_samples: int = 5
    cooldown: float = 30.0
    results: deque = field(default_factory=deque)
    down_until: float = 0.0

    def up(self, now: float) -> bool:
        return now >= self.down_until

    def record(self, failures: Sequence[bool], now: float) -> float | None:
        """Record outcomes (True = a technical failure); returns the error rate if it just tripped."""
        self.results.extend(failures)
        while len(self.results) > self.window:
            self.results.popleft()
        if len(self.results) < self.min_samples:
            return None
        rate = sum(self.results) / len(self.results)
        if rate >= self.threshold:
            self.down_until = now + self.cooldown
            self.results.clear()
            return rate
        return None


@dataclass
class Member:
    provider: ChannelProvider
    priority: int
    bucket: Bucket | None
    health: Health


class ProviderPool:
    """Sends a batch through the best available providers; what none can take now is held (None)."""

    def __init__(self, members: Sequence[tuple[ChannelProvider, int, float | None]], threshold: float = 0.5,
                 window: int = 20, cooldown: float = 30.0, monotonic: Callable[[], float] = time.monotonic,
                 shared=None) -> None:
        if not members:
            raise ValueError("a channel needs at least one provider")
        self.members = sorted(
            (Member(p, prio, Bucket(rate) if rate else None, Health(window, threshold, cooldown=cooldown))
             for p, prio, rate in members), key=lambda m: m.priority)
        self.monotonic, self.shared = monotonic, shared
        self.channel = self.members[0].provider.channel

    def names(self) -> list[str]:
        return [m.provider.name for m in self.members]

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        out: list[Outcome | None] = [None] * len(batch)
        left = list(range(len(batch)))
        for member in self.members:
            if not left:
                break
            now = self.monotonic()
            key = f"{self.channel.value}:{member.provider.name}"
            if not member.health.up(now) or (self.shared and self.shared.down_until(key) > time.time()):
                continue
            if self.shared is not None and member.bucket is not None:
                n = self.shared.take(f"provider:{key}", member.bucket.rate, len(left))
            else:
                n = member.bucket.take(len(left), now) if member.bucket else len(left)
            if n == 0:
                continue
            take, left = left[:n], left[n:]
            try:
                results = member.provider.send([batch[i] for i in take])
            except Exception as exc:  # noqa: BLE001 - a provider that raises has failed every message
                detail = f"{member.provider.name}: {type(exc).__name__}: {exc}"
                results = [Outcome(Status.TECHNICAL_FAILURE, detail, provider=member.provider.name)] * len(take)
            for i, r in zip(take, results, strict=True):
                out[i] = r
            tripped = member.health.record([r.status is Status.TECHNICAL_FAILURE for r in results],
                                           self.monotonic())
            if tripped is not None:
                if self.shared is not None:
                    self.shared.set_aside(key, time.time() + member.health.cooldown, tripped)
                log.warning("provider set aside", provider=member.provider.name, error_rate=round(tripped, 2),
                            cooldown_s=member.health.cooldown)
        return out
