"""Subscriptions and the relay that tells subscribers of events.

``Subscriptions`` is the use case behind ``/v1/subscriptions`` and ``civic subscriptions``:
create (checked against the organisation's agreement), list, show, delete, replay, and the
dead letters. ``Relay.run_once`` does the work, in two passes a worker runs every second:

1. **fan out**: each active subscription reads the inbox after its cursor (events the platform
   has taken in), keeps those its filters match, and records one pending delivery per event;
2. **deliver**: due deliveries are leased, the privacy gate builds each body from the
   agreement (``PrivacyGate.event_parcels``: refused ones are withheld, never delivered and
   never hinted at), and the outbound boundary hands them to the subscription's transport and
   logs the SHA-256 of what left in the person's access log. A 2xx answer delivers; a 4xx is a
   dead letter at once, kept with the answer; a 5xx, a timeout or a refused connection is
   tried again with backoff (``domain.subscriptions.next_attempt``) and then dead-lettered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, Protocol

from ..domain.clock import Clock
from ..domain.ids import uuid7
from ..domain.organisations import Organisation
from ..domain.subscriptions import InvalidSubscriptionError, Subscription, check_request, next_attempt
from ..logs import get
from .errors import NotFoundError, _problem
from .gate import PrivacyGate, Refusal
from .outbound import Outbound, Parcel, Transport

log = get("civic.subscriptions")
UNAVAILABLE = "unavailable:"  # a transport's error for an outage of its own, not the subscriber's

InvalidSubscriptionProblem = _problem("invalid-subscription", 422, "The subscription is not valid")
NoAgreementForEventsError = _problem("no-agreement-for-events", 403,
                                     "No agreement lets the organisation be told of these events")


class Routes(Protocol):
    """Makes a transport for one batch: each parcel's reference routed to its sink and headers."""

    def routed(self, routes: Mapping[str, tuple[str, dict[str, str]]]) -> Transport: ...


class Subscriptions:
    def __init__(self, store, agreements_store, org_store, event_types: Sequence[str], clock: Clock,
                 demo_mode: bool = False, nats: bool = False, nats_prefix: str = "civic") -> None:
        self.store, self.agreements, self.orgs = store, agreements_store, org_store
        self.event_types, self.clock, self.demo_mode, self.nats = tuple(event_types), clock, demo_mode, nats
        self.nats_prefix = nats_prefix

    def create(self, org: Organisation, types: Sequence[str], agreement: str, sink: str = "",
               protocol: str = "HTTP", source_prefix: str = "", subject_prefix: str = "") -> Subscription:
        """A new subscription for ``org``; raises 422 (malformed: the field named) or 403 (no agreement).

        Every type must be one the pack declares (or a pattern matching some), and the agreement
        named must be in force, be the organisation's own, and list the types among its ``events``.
        """
        try:
            check_request(list(types), sink, protocol, self.demo_mode)
        except InvalidSubscriptionError as exc:
            raise InvalidSubscriptionProblem(str(exc), [{"field": exc.field, "message": str(exc)}]) from None
        if protocol == "NATS" and not self.nats:
            raise InvalidSubscriptionProblem("NATS delivery needs CIVIC_NATS_URL set on the platform",
                                             [{"field": "protocol", "message": "NATS is not configured"}])
        unknown = [t for t in types if not any(fnmatchcase(d, t) for d in self.event_types)]
        if unknown:
            raise InvalidSubscriptionProblem(f"no declared event type matches {', '.join(unknown)}",
                                             [{"field": "types", "message": f"unknown: {', '.join(unknown)}"}])
        versions = self.agreements.agreement_versions(agreement)
        current = versions[-1] if versions else None
        if current is None or not current.active or current.recipient != org.id:
            raise NoAgreementForEventsError(f"there is no agreement {agreement!r} in force for {org.name}")
        not_covered = [t for t in types if not self._covered(t, current.events)]
        if not_covered:
            raise NoAgreementForEventsError(
                f"agreement {agreement} v{current.version} does not let {org.name} be told of "
                f"{', '.join(not_covered)}" + (f" (it covers {', '.join(current.events)})" if current.events
                                               else " (it covers no events)"))
        sub = Subscription(str(uuid7()), org.id, agreement, current.purpose, tuple(types),
                           sink if protocol == "HTTP" else f"{self.nats_prefix}.out.{org.id}", protocol, source_prefix,
                           subject_prefix, self.clock.now())
        self.store.add(sub)
        log.info("subscription created", org=org.id, subscription=sub.id, types=list(types), protocol=protocol)
        return sub

    def _covered(self, type_: str, allowed: Sequence[str]) -> bool:
        if any(fnmatchcase(type_, a) or type_ == a for a in allowed):
            return True
        matching = [d for d in self.event_types if fnmatchcase(d, type_)]
        return bool(matching) and all(any(fnmatchcase(d, a) for a in allowed) for d in matching)

    def list(self, org: Organisation | None = None) -> list[Subscription]:
        return self.store.list(org.id if org else None)

    def get(self, sub_id: str, org: Organisation | None = None) -> Subscription:
        """The subscription, if it is ``org``'s (operators pass None); 404 otherwise, never a hint."""
        sub = self.store.get(sub_id)
        if sub is None or not sub.active or (org is not None and sub.org_id != org.id):
            raise NotFoundError(f"no subscription {sub_id!r}")
        return sub

    def delete(self, sub_id: str, org: Organisation | None = None) -> None:
        self.get(sub_id, org)
        self.store.delete(sub_id, self.clock.now())

    def replay(self, sub_id: str, since: datetime, org: Organisation | None = None) -> int:
        """Queue again every taken-in event from ``since`` (UTC) that the filters match; the count."""
        sub = self.get(sub_id, org)
        if since > self.clock.now():
            raise InvalidSubscriptionProblem("a replay starts at a time that has passed",
                                             [{"field": "since", "message": "in the future"}])
        seqs = [e["seq"] for e in self.store.events_since(since)
                if sub.matches(e["type"], e["source"], e["subject"])]
        return self.store.queue(sub.id, seqs, self.clock.now())

    def dead_letters(self, sub_id: str, org: Organisation | None = None) -> list[dict[str, Any]]:
        self.get(sub_id, org)
        return self.store.deliveries(sub_id, status="dead")

    def counts(self, sub_id: str) -> dict[str, int]:
        return self.store.counts(sub_id)


class Relay:
    """Fans events out to subscriptions and delivers them (see the module docstring)."""

    def __init__(self, store, gate: PrivacyGate, outbound: Outbound, org_store, clock: Clock,
                 transports: Mapping[str, Routes], batch: int = 200) -> None:
        self.store, self.gate, self.outbound, self.orgs, self.clock = store, gate, outbound, org_store, clock
        self.transports, self.batch = dict(transports), batch

    def run_once(self) -> int:
        """One fan-out pass and one delivery pass; the number of deliveries settled."""
        self.fan_out()
        return self.deliver()

    def fan_out(self) -> int:
        """One read of the inbox from the furthest-behind subscription's cursor serves them all."""
        subs = self.store.list()
        if not subs:
            return 0
        low = min(s.cursor for s in subs)
        events, cursor = self.store.events_after(low, self.batch * 5)
        made = 0
        for sub in subs:
            if sub.cursor >= cursor:
                continue
            seqs = [e["seq"] for e in events
                    if e["seq"] > sub.cursor and sub.matches(e["type"], e["source"], e["subject"])]
            made += self.store.fan_out(sub.id, seqs, cursor, self.clock.now())
        return made

    def deliver(self) -> int:
        """Lease due deliveries, let the gate decide each, and hand what may go to its transport:
        one hand-over per protocol for the whole batch, so every subscriber's posts run together."""
        from ..domain.subscriptions import binary_headers

        now = self.clock.now()
        leased = self.store.lease(now, self.batch)
        if not leased:
            return 0
        subs = {s.id: s for s in self.store.list(active=False)}
        names = {o["id"]: o["name"] for o in self.orgs.organisations()}
        by_sub: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in leased:
            by_sub[row["subscription_id"]].append(row)
        outcomes: list[dict[str, Any]] = []
        outgoing: dict[str, list[tuple[dict[str, Any], Parcel]]] = defaultdict(list)  # protocol -> parcels
        routes: dict[str, tuple[str, dict[str, str]]] = {}
        for sub_id, rows in by_sub.items():
            sub = subs.get(sub_id)
            if sub is None or not sub.active:
                outcomes += [{"id": r["id"], "status": "cancelled", "last_error": "the subscription was deleted"}
                             for r in rows]
                continue
            events = [{"key": f"{sub.id}:{r['event_id']}", "person": r["subject"], "type": r["type"],
                       "data": r["data"]} for r in rows]
            made = self.gate.event_parcels(sub.org_id, names.get(sub.org_id, sub.org_id), sub.purpose, events,
                                           sub.types)
            for r, parcel in zip(rows, made, strict=True):
                if isinstance(parcel, Refusal):  # never delivered, never hinted at: the subscriber sees nothing
                    outcomes.append({"id": r["id"], "status": "withheld", "attempts": r["attempts"],
                                     "last_error": f"withheld by the privacy gate: {parcel.error.slug}"})
                    continue
                routes[parcel.reference] = (sub.sink, binary_headers(r["event_id"], r["source"], r["type"],
                                                                     parcel.log["subject"], r["time"], sub.id))
                outgoing[sub.protocol].append((r, parcel))
        for protocol, pairs in outgoing.items():
            transport = self.transports.get(protocol)
            if transport is None:
                outcomes += [{"id": r["id"], "status": "pending", "attempts": r["attempts"],
                              "last_error": f"no {protocol} transport in this process"} for r, _ in pairs]
                continue
            results = self.outbound.hand_over([p for _, p in pairs], transport.routed(routes))
            outcomes += [self._outcome(r, result, now) for (r, _), result in zip(pairs, results, strict=True)]
        self.store.settle(outcomes)
        return len(outcomes)

    @staticmethod
    def _outcome(row: dict[str, Any], result, now: datetime) -> dict[str, Any]:
        verdict = result.verdict.value
        if verdict == "retry" and (result.error or "").startswith(UNAVAILABLE):
            # the backbone itself is away (NATS down, no stream leader yet): the delivery waits, and it
            # is not the subscriber's failure, so it never becomes a dead letter for it
            return {"id": row["id"], "status": "pending", "attempts": row["attempts"],
                    "due_at": now + timedelta(seconds=2), "last_error": result.error}
        attempts = row["attempts"] + 1
        if verdict == "done":
            return {"id": row["id"], "status": "delivered", "attempts": attempts, "delivered_at": now,
                    "last_error": None}
        if verdict == "retry" and (due := next_attempt(attempts, now)) is not None:
            return {"id": row["id"], "status": "pending", "attempts": attempts, "due_at": due,
                    "last_error": result.error}
        return {"id": row["id"], "status": "dead", "attempts": attempts, "last_error": result.error}
