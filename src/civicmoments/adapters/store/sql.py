"""The store: every read and write the engine makes, as set-oriented SQL.

One module serves SQLite and PostgreSQL. Where they differ (row locking, upserts) the
difference is a small branch on ``self.pg``.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ...domain.events import (
    EFFECT_COMPLETED,
    EFFECT_DEAD_LETTERED,
    ENGINE_SOURCE,
    TIMER_FIRED,
    LifeEvent,
)
from ...domain.journeys import Journey, JourneyStatus
from ...engine.ports import (
    BatchFailedError,
    BatchHandler,
    BatchResult,
    Effect,
    Settlement,
    StaleJourneyError,
    Verdict,
)
from . import migrate
from .bulk import Bulk, Prepared
from .engine import json_value
from .messages import cancel_pending
from .paths import by_key, keyed_transaction, status_is, unindexed
from .schema import (
    api_keys,
    deliveries,
    inbox,
    journeys,
    messages,
    organisations,
    outbox,
    partitions,
    timeline,
    timers,
)

CHUNK = 500


def is_transient(exc: BaseException) -> bool:
    """A failure that says nothing about the events: the connection, a lock, a changed journey."""
    if isinstance(exc, StaleJourneyError):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return False


def failure(what: str, exc: BaseException) -> str:
    """A quarantine reason: what failed and the exception's class, never the event's values."""
    return f"{what}: {type(exc).__module__}.{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


WORK_CHANNEL = "civic_work"  # PostgreSQL NOTIFY channel: new events or effects to do


class EventStatus:
    PENDING = "pending"
    PROCESSED = "processed"
    QUARANTINED = "quarantined"


# The conditions of the queue's looks, in the form its partial indexes serve (``paths.status_is``).
PENDING_EVENT = status_is(inbox.c.status, EventStatus.PENDING)
QUARANTINED_EVENT = status_is(inbox.c.status, EventStatus.QUARANTINED)
PENDING_TIMER = status_is(timers.c.status, "pending")


class EffectStatus:
    PENDING = "pending"
    INFLIGHT = "inflight"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"


def utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def partition_of(subject: str, count: int) -> int:
    return zlib.crc32(subject.encode()) % count


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def pairs_in(first: Any, second: Any, pairs: Iterable[tuple[Any, Any]], size: int = CHUNK
             ) -> Iterable[ColumnElement[bool]]:
    """Conditions that together match the rows whose (``first``, ``second``) columns are one of
    ``pairs``: ``first = a AND second IN (...)``, one per value of ``first`` and chunk of its
    seconds. SQLite plans a row-value ``(first, second) IN (VALUES ...)`` as a scan of the whole
    table; this form follows an index that starts with either column. Give as ``first`` the
    column with fewer distinct values (an event's source, an eligibility's service)."""
    grouped: dict[Any, set[Any]] = defaultdict(set)
    for a, b in pairs:
        grouped[a].add(b)
    for a, bs in grouped.items():
        for part in chunks(sorted(bs), size):
            yield and_(first == a, second.in_(part))


_JOURNEYS_OF = (select(journeys).where(journeys.c.person == bindparam("person")).order_by(journeys.c.started_at)
                .limit(bindparam("limit", type_=Integer)))


class SqlStore:
    def __init__(self, engine: Engine, partition_count: int = 64, claim_partitions: int = 8,
                 reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader or engine
        self.pg = engine.dialect.name == "postgresql"
        self.partition_count = partition_count
        self.claim_partitions = claim_partitions
        self.bulk = Bulk(engine.dialect.name)
        self._reads: dict[tuple[str, str], Any] = {}  # the engine's hot statements (see _read)
        # On SQLite: () -> (k, n), this engine's share of the partitions (engine.supervisor.Share);
        # None takes them all. PostgreSQL divides them with row locks instead.
        self.share: Callable[[], tuple[int, int]] | None = None
        self.on_close: list = []  # what else holds the store open and ends with it (the insights' DuckDB)

    # -- schema ------------------------------------------------------------------
    def migrate(self) -> None:
        migrate.upgrade(self.engine)
        with self.engine.begin() as conn:
            have = {r[0] for r in conn.execute(select(partitions.c.id))}
            missing = [{"id": i} for i in range(self.partition_count) if i not in have]
            if missing:
                conn.execute(insert(partitions), missing)

    def _insert_ignore(self, conn: Connection, table, rows: list[dict[str, Any]]) -> None:
        self.bulk.insert(conn, table, rows, ignore_conflicts=True)
        if rows and table in (inbox, outbox) and conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"NOTIFY {WORK_CHANNEL}")  # sent at commit: idle workers wake (wake.py)

    # -- organisations -------------------------------------------------------------
    def add_organisation(self, row: dict[str, Any], key: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(organisations), row)
            conn.execute(insert(api_keys), key)

    def add_key(self, key: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(api_keys), key)

    def organisation(self, name: str) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(organisations).where(organisations.c.name == name)).first()
        return dict(row._mapping) if row else None

    def organisations(self) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(organisations).order_by(organisations.c.name)).all()
        return [dict(r._mapping) for r in rows]

    def revoke_organisation(self, org_id: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(organisations).where(organisations.c.id == org_id).values(revoked_at=now))
            conn.execute(
                update(api_keys)
                .where(api_keys.c.org_id == org_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def key_with_organisation(self, key_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        q = select(api_keys, organisations).join(organisations).where(api_keys.c.id == key_id)
        with self.reader.connect() as conn:
            row = conn.execute(q).first()
        if row is None:
            return None
        m = row._mapping
        key = {c.name: m[api_keys.c[c.name]] for c in api_keys.c}
        org = {c.name: m[organisations.c[c.name]] for c in organisations.c}
        return key, org

    # -- intake --------------------------------------------------------------------
    def accept(self, events: Sequence[dict[str, Any]], now: datetime) -> list[str]:
        """Insert events into the inbox. Returns per event: accepted, duplicate or conflict."""
        keys = [(e["source"], e["event_id"]) for e in events]
        with self.engine.begin() as conn:
            existing = self.digests_of(conn, keys)
            outcome, fresh = [], []
            for e, k in zip(events, keys, strict=True):
                if k in existing:
                    outcome.append("duplicate" if existing[k] == e["digest"] else "conflict")
                    continue
                existing[k] = e["digest"]
                outcome.append("accepted")
                fresh.append(self._inbox_row(e, now))
            self._insert_ignore(conn, inbox, fresh)
        return outcome

    def digests_of(self, conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``{(source, event id): digest}`` of the events already in the inbox among ``keys``, each
        found through the inbox's unique index."""
        existing: dict[tuple[str, str], str] = {}
        if self.pg:  # joined to the keys as arrays: a probe of the unique index per key
            with by_key(conn):
                for part in chunks(keys, 5000):
                    existing.update({(r[0], r[1]): r[2] for r in conn.exec_driver_sql(
                        "SELECT i.source, i.event_id, i.digest FROM unnest(%b::text[], %b::text[]) AS k(s, e) "
                        "JOIN inbox AS i ON i.source = k.s AND i.event_id = k.e",
                        ([k[0] for k in part], [k[1] for k in part])).all()})
        else:
            for match in pairs_in(inbox.c.source, inbox.c.event_id, keys):
                q = select(inbox.c.source, inbox.c.event_id, inbox.c.digest).where(match)
                existing.update({(r.source, r.event_id): r.digest for r in conn.execute(q)})
        return existing

    @staticmethod
    def is_refusal(exc: BaseException) -> bool:
        """The database refused the values (not the connection or a lock): retrying the same will fail."""
        return isinstance(exc, DBAPIError) and not is_transient(exc)

    def _inbox_row(self, e: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {
            **e,
            "partition": partition_of(e["subject"], self.partition_count),
            "received_at": now,
            "status": EventStatus.PENDING,
            "process_count": 0,
        }

    def _engine_events(self, conn: Connection, events: list[dict[str, Any]], now: datetime) -> None:
        rows = [
            self._inbox_row({"source": ENGINE_SOURCE, "org_id": None, "digest": "-", **e,
                             "time": e["time"] or now}, now)
            for e in events
        ]
        self._insert_ignore(conn, inbox, rows)

    # -- dispatch ------------------------------------------------------------------
    def work_due(self, now: datetime) -> bool:
        """Whether a worker round would find anything to do now: a pending event, a due timer, an
        effect that may be claimed or a message due to go. One read, where a round makes one
        look per kind of work: an idle worker polls with this."""
        with self.reader.connect() as conn:
            return bool(conn.execute(self._read("work_due"), {"now": now}).scalar())

    def dispatch(self, limit: int, handler: BatchHandler, fresh: int | None = None) -> int:
        """Claim pending events (ordered per person), run the handler, write it all at once.

        People are taken in two lanes, and each person's pending events always in the order they
        came (``seq``), so a person's later event never overtakes an earlier one:
        first the people whose earliest pending event is the engine's own (an effect's result, a
        timer: a journey already under way), oldest first; then at most ``fresh`` people whose
        earliest pending event is a life event (``None``: no limit), taken in turn from each
        ``source``, so a large report is started a slice at a time and a second sender's event
        joins the next slice rather than waiting behind the whole report.

        A stored event that cannot be loaded, or a batch of one that cannot be written, is
        quarantined with the reason and the exception's class, so it cannot stop the engine.
        A larger batch that fails raises ``BatchFailedError``: the worker retries one event at a
        time. Transient database errors (connection lost, lock conflicts) are raised as they are.
        """
        with self.reader.connect() as conn:  # a cheap look without the write lock first
            if conn.execute(self._read("any_pending")).first() is None:
                return 0
        claimed: list[int] = []
        chosen: list[str] = []
        try:
            return self._dispatch(limit, handler, claimed, fresh, chosen)
        except Exception as exc:
            if is_transient(exc):
                raise
            if not claimed:  # the rows could not be loaded
                return self._isolate_unloadable(limit, chosen)
            if len(claimed) == 1:
                self.quarantine({claimed[0]: failure("the event could not be processed", exc)})
                return 1
            raise BatchFailedError(
                f"a batch of {len(claimed)} events failed ({type(exc).__name__}); retrying one at a time"
            ) from exc

    def quarantine(self, reasons: dict[int, str]) -> None:
        """Set pending events aside with their reasons (``{seq: reason}``)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(inbox)
                .where(inbox.c.seq == bindparam("q_seq"), inbox.c.status == EventStatus.PENDING)
                .values(status=EventStatus.QUARANTINED, error=bindparam("q_error")),
                [{"q_seq": s, "q_error": r} for s, r in reasons.items()],
            )

    def _event_columns(self):
        return select(inbox.c.seq, inbox.c.source, inbox.c.event_id, inbox.c.type, inbox.c.subject,
                      inbox.c.time, inbox.c.data)

    @staticmethod
    def _life_event(r: Any) -> LifeEvent:
        return LifeEvent(r.source, r.event_id, r.type, r.subject, utc(r.time), r.data, r.seq)

    def _isolate_unloadable(self, limit: int, subjects: Sequence[str] = ()) -> int:
        """Load the pending events the failed batch would have taken (those of ``subjects``, or
        the oldest) one by one; quarantine each that cannot be read back."""
        with self.reader.connect() as conn:
            if subjects:
                seqs = sorted(seq for part in chunks(subjects) for seq in conn.execute(
                    select(inbox.c.seq).where(PENDING_EVENT, inbox.c.subject.in_(part)).order_by(inbox.c.seq).limit(limit)
                ).scalars())[:limit]
            else:
                # Oldest first within each partition (the pending index's order), then overall: a
                # plain ORDER BY seq is read along the whole table on SQLite.
                seqs = sorted(seq for part in range(self.partition_count) for seq in conn.execute(
                    select(inbox.c.seq).where(PENDING_EVENT, inbox.c.partition == part).order_by(inbox.c.seq).limit(limit)
                ).scalars())[:limit]
        bad: dict[int, str] = {}
        for seq in seqs:
            try:
                with self.reader.connect() as conn:
                    row = conn.execute(self._event_columns().where(inbox.c.seq == seq)).one()
                    self._life_event(row)
            except Exception as exc:
                if is_transient(exc):
                    raise
                bad[seq] = failure("the stored event cannot be read back", exc)
        if bad:
            self.quarantine(bad)
        return len(bad)

    def _dispatch(self, limit: int, handler: BatchHandler, claimed: list[int], fresh: int | None,
                  chosen: list[str]) -> int:
        if not self.pg:
            return self._dispatch_sqlite(limit, handler, claimed, fresh, chosen)
        with self.engine.begin() as conn:
            # Lock whole partitions: a person's events are only ever in one worker's hands.
            # The partitions of the people due next (see ``_claim_subjects``) first; when other
            # workers hold them all, any partition with work.
            # Any of them another worker holds is skipped, and the next ones taken.
            wanted = list(dict.fromkeys(partition_of(s, self.partition_count)
                                        for s in self._claim_subjects(conn, "all", {}, limit, fresh)))
            parts = conn.execute(
                select(partitions.c.id).where(partitions.c.id.in_(wanted))
                .order_by(case({p: i for i, p in enumerate(wanted)}, value=partitions.c.id))
                .limit(self.claim_partitions).with_for_update(skip_locked=True)
            ).scalars().all() if wanted else []
            if not parts:
                parts = conn.execute(
                    select(partitions.c.id)
                    .where(partitions.c.id.in_(select(inbox.c.partition).where(PENDING_EVENT).distinct()))
                    .order_by(func.random())
                    .limit(self.claim_partitions)
                    .with_for_update(skip_locked=True)
                ).scalars().all()
            if not parts:
                return 0
            keyed_transaction(conn)  # from here every statement names its rows (paths.py)
            events, active = self._take(conn, "parts", {"parts": list(parts)}, limit, fresh, claimed, chosen)
            if not events:
                return 0
            result = handler(events, active)
            self._write_batch(conn, result)
            return len(events)

    def _dispatch_sqlite(self, limit: int, handler: BatchHandler, claimed: list[int], fresh: int | None,
                         chosen: list[str]) -> int:
        """SQLite has one writer for the whole database, so intake waits for as long as a batch holds
        the write lock. The batch is therefore read in a read transaction and worked out with no
        lock held; the write transaction then checks that nothing it read has moved (its events
        still pending, its people's active journeys the same; the journeys' versions are checked
        as they are written) before writing, and raises ``StaleJourneyError`` if anything has.
        Several engines on one file each take their ``share`` of the partitions, so they seldom
        meet on a person and work out their batches at the same time."""
        k, n = self.share() if self.share is not None else (0, 1)
        # several engines on this file: this one's partitions only
        variant, params = ("share", {"n": n, "k": k}) if n > 1 else ("all", {})
        with self.reader.connect() as conn:
            events, active = self._take(conn, variant, params, limit, fresh, claimed, chosen)
        if not events:
            return 0
        seen = {p: {j.id for j in js} for p, js in active.items()}
        result = handler(events, active)
        prepared = self._prepare_batch(result)  # before the write lock: its turn is spent writing
        with self.engine.begin() as conn:
            self._check_unmoved(conn, [e.seq for e in events], seen)
            self._write_batch(conn, result, prepared)
        return len(events)

    def _check_unmoved(self, conn: Connection, seqs: list[int], seen: dict[str, set[str]]) -> None:
        still = sum(conn.execute(self._read("still"), {"seqs": list(part)}).scalar() for part in chunks(seqs))
        if still != len(seqs):
            raise StaleJourneyError(f"{len(seqs) - still} events of this batch were taken by another engine")
        now: dict[str, set[str]] = {p: set() for p in seen}
        for part in chunks(list(seen)):
            for person, jid in conn.execute(self._read("active_ids"), {"people": list(part)}):
                now[person].add(jid)
        if now != seen:
            raise StaleJourneyError("the active journeys of this batch's people changed under it")

    def _pending(self, variant: str, keyed: bool = False):
        """Pending events, in: every partition (``"all"``); the partitions a PostgreSQL worker has
        locked (``"parts"``: parameter ``parts``); this engine's share of them on SQLite
        (``"share"``: partition % ``n`` = ``k``). ``keyed``: for a look whose other condition names
        the rows (their people), with the status and the partitions as filters (``paths.unindexed``)."""
        pending = unindexed(inbox.c.status) == EventStatus.PENDING if keyed else PENDING_EVENT
        if variant == "parts":  # keyed: the partitions filter too, or every event of the partitions is read
            partition = unindexed(inbox.c.partition) if keyed else inbox.c.partition
            return pending & partition.in_(bindparam("parts", expanding=True))
        if variant == "share":
            return pending & (inbox.c.partition % bindparam("n", type_=Integer) == bindparam("k", type_=Integer))
        return pending

    def _read(self, name: str, variant: str = "all"):
        """One of the engine's statements for every round (the dispatcher's reads, the effect
        queue's looks and claim), built once and kept: building SQLAlchemy statements anew on
        every round cost more than running them. Its parameters are named in ``_build``."""
        statement = self._reads.get((name, variant))
        if statement is None:
            statement = self._reads[(name, variant)] = self._build(name, variant)
        return statement

    def _build(self, name: str, variant: str):
        people = bindparam("people", expanding=True)
        active = journeys.c.status == JourneyStatus.ACTIVE.value
        limit = bindparam("limit", type_=Integer)
        at = bindparam("now", type_=outbox.c.next_attempt_at.type)  # every "now" is a UTC timestamp
        pending = self._pending(variant)

        def first_pending(seq, subject):
            earlier = inbox.alias("earlier")
            # Through the subject's index alone: on a freshly filled table PostgreSQL's planner
            # otherwise intersects it with every pending event.
            return ~select(earlier.c.seq).where(
                earlier.c.subject == subject, unindexed(earlier.c.status) == EventStatus.PENDING,
                earlier.c.seq < seq
            ).exists()

        if name == "under_way":  # limit: the people whose first pending event is the engine's own
            heads = select(inbox.c.subject, func.min(inbox.c.seq).label("head")) \
                .where(pending, inbox.c.source == ENGINE_SOURCE).group_by(inbox.c.subject).subquery()
            return select(heads.c.subject).where(first_pending(heads.c.head, heads.c.subject)) \
                .order_by(heads.c.head).limit(limit)
        if name == "sources":
            return self._sources(pending)
        if name == "queue":  # source, limit: the people whose first pending event is from the source
            return select(inbox.c.subject).where(pending, inbox.c.source == bindparam("source"),
                                                 first_pending(inbox.c.seq, inbox.c.subject)) \
                .order_by(inbox.c.seq).limit(limit)
        if name == "going":  # people: those of them with an active journey
            return select(journeys.c.person).where(journeys.c.person.in_(people), active)
        if name == "events":  # people, limit: their pending events, in order
            # Read through the subject index, the status wrapped (paths.unindexed), or the planner
            # walks every pending event in the status index (the whole queue, when a report of 10,000
            # is waiting) to find a batch's few hundred; on PostgreSQL, of the partitions locked.
            return self._event_columns().where(self._pending(variant, keyed=True), inbox.c.subject.in_(people)) \
                .order_by(inbox.c.seq).limit(limit)
        if name == "active":  # people: their active journeys
            return select(journeys).where(journeys.c.person.in_(people), active)
        if name == "active_ids":  # people: (person, id) of their active journeys
            return select(journeys.c.person, journeys.c.id).where(journeys.c.person.in_(people), active)
        if name == "any_pending":  # is any event pending?
            return select(inbox.c.seq).where(PENDING_EVENT).limit(1)
        if name == "any_timer":  # now: is any timer due?
            return select(timers.c.id).where(PENDING_TIMER, timers.c.due_at <= at).limit(1)
        if name == "processed":  # seqs, now: mark them processed
            return update(inbox).where(inbox.c.seq.in_(bindparam("seqs", expanding=True))).values(
                status=EventStatus.PROCESSED, processed_at=at, process_count=inbox.c.process_count + 1, error=None)
        if name == "in_hand":  # now, limit: effects due and in flight, each counted up to the limit
            counts = [select(func.count()).select_from(self._first(c, limit).subquery()).scalar_subquery()
                      for c in (self._due(at), outbox.c.status == EffectStatus.INFLIGHT)]
            return select(counts[0] + counts[1])
        if name == "waiting":  # now: may any effect be claimed?
            return select(or_(*(q.exists() for q in self._claimable_looks(at))))
        if name == "work_due":  # now: see work_due
            from .messages import MessageStore

            looks = [
                select(inbox.c.seq).where(PENDING_EVENT),
                select(timers.c.id).where(PENDING_TIMER, timers.c.due_at <= at),
                *self._claimable_looks(at),
                select(messages.c.id).where(MessageStore._due(at)),
            ]
            return select(or_(*(q.limit(1).exists() for q in looks)))
        if name == "claim":  # now, limit, lease: see claim_effects
            picks = []
            for cte, condition in (("due", self._due(at)), ("expired", self._expired(at))):
                q = self._first(condition, limit)
                picks.append((q.with_for_update(skip_locked=True) if self.pg else q).cte(cte))
            both = union_all(*(select(p.c.id) for p in picks)).subquery()
            chosen = select(both.c.id).order_by(both.c.id).limit(limit)
            # On SQLite the payloads come back as their stored text and are parsed once the single
            # writer's turn is over; PostgreSQL's driver parses them as it reads.
            payload = outbox.c.payload if self.pg else type_coerce(outbox.c.payload, Text).label("payload")
            return (update(outbox).where(outbox.c.id.in_(chosen))
                    .values(status=EffectStatus.INFLIGHT, lease_until=bindparam("lease", type_=outbox.c.lease_until.type),
                            attempts=outbox.c.attempts + 1)
                    .returning(outbox.c.id, outbox.c.key, outbox.c.journey_id, outbox.c.person, outbox.c.step,
                               outbox.c.kind, payload, outbox.c.attempts, outbox.c.max_attempts,
                               outbox.c.backoff_seconds))
        if name == "still":  # seqs: how many of them are still pending
            return select(func.count()).select_from(inbox).where(inbox.c.seq.in_(bindparam("seqs", expanding=True)),
                                                                 unindexed(inbox.c.status) == EventStatus.PENDING)
        raise KeyError(name)

    def _take(self, conn: Connection, variant: str, params: dict[str, Any], limit: int, fresh: int | None,
              claimed: list[int], chosen: list[str]) -> tuple[list[LifeEvent], dict[str, list[Journey]]]:
        """The next batch's events (each person's in order) and its people's active journeys, from
        the pending events of ``variant`` (see ``_pending``) with its ``params``."""
        subjects = self._claim_subjects(conn, variant, params, limit, fresh)
        if not subjects:
            return [], {}
        chosen.extend(subjects)
        rows = []
        for part in chunks(subjects):
            rows += conn.execute(self._read("events", variant), {**params, "people": list(part), "limit": limit}).all()
        rows = sorted(rows, key=lambda r: r.seq)[:limit]
        if not rows:
            return [], {}
        events = [self._life_event(r) for r in rows]
        claimed.extend(e.seq for e in events)
        people = sorted({e.subject for e in events})
        active: dict[str, list[Journey]] = {p: [] for p in people}
        for part in chunks(people):
            for j in conn.execute(self._read("active"), {"people": list(part)}):
                active[j.person].append(self._journey(j))
        return events, active

    @staticmethod
    def _sources(pending):
        """The sources with pending events (``pending``: their condition), one index seek each
        (the next source after the last, along ``ix_inbox_pending_source_seq``) rather than a walk
        over every pending event: a report of 10,000 waiting is one source, read once."""
        def after(previous):
            q = select(inbox.c.source).where(pending).order_by(inbox.c.source).limit(1)
            return (q if previous is None else q.where(inbox.c.source > previous)).scalar_subquery()

        found = select(after(None).label("source")).cte("sources", recursive=True)
        found = found.union_all(select(after(found.c.source)).where(found.c.source.is_not(None)))
        return select(found.c.source).where(found.c.source.is_not(None))

    def _claim_subjects(self, conn: Connection, variant: str, params: dict[str, Any], limit: int,
                        fresh: int | None) -> list[str]:
        """The people whose events the next batch takes (see ``dispatch``), among the pending events
        of ``variant`` (see ``_pending``): journeys under way first, then people with life events,
        a turn per source, of whom at most ``fresh`` have no active journey (a life event for a
        journey under way, such as a reply, is not held back). Each read follows
        ``ix_inbox_pending_source_seq``; a person qualifies only when no earlier event of theirs
        is pending."""
        under_way = conn.execute(self._read("under_way", variant), {**params, "limit": limit}).scalars().all()
        room = limit - len(under_way)
        if room <= 0:
            return list(under_way)
        sources = [s for s in conn.execute(self._read("sources", variant), params).scalars() if s != ENGINE_SOURCE]
        queues = []
        for source in sorted(sources):
            queues.append(conn.execute(self._read("queue", variant),
                                       {**params, "source": source, "limit": room}).scalars().all())
        # A life event for someone whose journey is under way (a reply, say) continues it: it goes
        # with the first lane. Only people with no active journey count towards ``fresh``.
        candidates = list({p: None for q in queues for p in q})
        going: set[str] = set()
        for part in chunks(candidates):
            going.update(conn.execute(self._read("going"), {"people": list(part)}).scalars())
        chosen: dict[str, None] = dict.fromkeys(under_way)
        new = 0
        for turn in range(room):  # a turn per source: the first of each, then the second of each, ...
            for queue in queues:
                if turn >= len(queue) or queue[turn] in chosen or len(chosen) >= limit:
                    continue
                if queue[turn] in going:
                    chosen[queue[turn]] = None
                elif fresh is None or new < fresh:
                    chosen[queue[turn]] = None
                    new += 1
            if len(chosen) >= limit or all(turn >= len(q) for q in queues):
                break
        return list(chosen)

    @staticmethod
    def _journey(r: Any) -> Journey:
        return Journey.from_state(
            id=r.id,
            moment=r.moment,
            person=r.person,
            status=r.status,
            version=r.version,
            started_at=utc(r.started_at),
            updated_at=utc(r.updated_at),
            state=r.state,
        )

    def _prepare_batch(self, b: BatchResult) -> list[Prepared | None]:
        """A batch's inserts and journey updates with their rows converted (states and payloads
        as JSON text): journeys started, journeys moved on, timeline, effects, timers."""
        started = [
            {
                "id": j.id,
                "moment": j.moment,
                "person": j.person,
                "status": j.status.value,
                "version": 1,
                "started_at": j.started_at,
                "updated_at": j.updated_at,
                "state": j.state(),
                "moment_version": j.moment_version,
                "moment_digest": j.moment_digest,
            }
            for j in b.new_journeys
        ]
        moved = [
            {"status": j.status.value, "state": j.state(), "updated_at": j.updated_at,
             "id": j.id, "version": j.version}
            for j in b.updated_journeys
        ]
        steps = [
            {"journey_id": t.journey, "at": t.at, "kind": t.kind, "step": t.step, "detail": t.detail}
            for t in b.timeline
        ]
        effects = [
            {
                "key": e.key,
                "journey_id": e.journey,
                "person": e.person,
                "step": e.step,
                "kind": e.kind,
                "payload": e.payload,
                "status": EffectStatus.PENDING,
                "attempts": 0,
                "max_attempts": e.max_attempts,
                "backoff_seconds": e.backoff_seconds,
                "next_attempt_at": b.now,
                "created_at": b.now,
            }
            for e in b.effects
        ]
        due = [
            {"id": t.id, "journey_id": t.journey, "person": t.person, "step": t.step, "due_at": t.due_at,
             "status": "pending"}
            for t in b.timers
        ]
        return [
            self.bulk.prepare(journeys, started),
            self.bulk.prepare_update(journeys, ("status", "state", "updated_at"), ("id", "version"), moved,
                                     extra_set='"version" = "version" + 1'),
            self.bulk.prepare(timeline, steps),
            self.bulk.prepare(outbox, effects, ignore_conflicts=True),
            self.bulk.prepare(timers, due, ignore_conflicts=True),
        ]

    def _write_batch(self, conn: Connection, b: BatchResult, prepared: list[Prepared | None] | None = None) -> None:
        """Write a worked-out batch in ``conn``'s transaction (``prepared``: its ``_prepare_batch``,
        made before the transaction began). Raises ``StaleJourneyError`` if a journey's version
        moved since it was read."""
        started, moved, steps, effects, due = prepared if prepared is not None else self._prepare_batch(b)
        self.bulk.run(conn, started)
        changed = self.bulk.run(conn, moved)
        if changed != len(b.updated_journeys):
            raise StaleJourneyError(f"{len(b.updated_journeys) - changed} journeys changed under this batch")
        self.bulk.run(conn, steps)
        self.bulk.run(conn, effects)
        self.bulk.run(conn, due)
        if effects is not None and self.pg:
            conn.exec_driver_sql(f"NOTIFY {WORK_CHANNEL}")  # sent at commit: idle workers wake (wake.py)
        for part in chunks(b.halted):
            conn.execute(
                update(outbox)
                .where(outbox.c.journey_id.in_(part), unindexed(outbox.c.status) == EffectStatus.PENDING)
                .values(status=EffectStatus.CANCELLED)
            )
            conn.execute(
                update(timers)
                .where(timers.c.journey_id.in_(part), unindexed(timers.c.status) == "pending")
                .values(status="cancelled")
            )
            cancel_pending(conn, messages.c.journey_id.in_(part), b.now, "the journey ended")
        for part in chunks(b.deceased):
            cancel_pending(conn, messages.c.person_id.in_(part), b.now, "the person died")
        for part in chunks(b.processed):
            conn.execute(self._read("processed"), {"seqs": list(part), "now": b.now})
        if b.quarantined:
            conn.execute(
                update(inbox)
                .where(inbox.c.seq == bindparam("q_seq"))
                .values(status=EventStatus.QUARANTINED, error=bindparam("q_error")),
                [{"q_seq": s, "q_error": reason} for s, reason in b.quarantined],
            )

    # -- timers --------------------------------------------------------------------
    def fire_due_timers(self, now: datetime, limit: int = 1000) -> int:
        """Turn due timers into inbox events; the dispatcher does the rest."""
        with self.reader.connect() as conn:  # a cheap look without the write lock first
            if conn.execute(self._read("any_timer"), {"now": now}).first() is None:
                return 0
        with self.engine.begin() as conn:
            q = (
                select(timers.c.id, timers.c.journey_id, timers.c.person, timers.c.step, timers.c.due_at)
                .where(PENDING_TIMER, timers.c.due_at <= now)
                .order_by(timers.c.due_at)
                .limit(limit)
            )
            if self.pg:
                q = q.with_for_update(skip_locked=True)
            due = conn.execute(q).all()
            if not due:
                return 0
            self._engine_events(
                conn,
                [
                    {
                        "event_id": f"timer:{t.id}",
                        "type": TIMER_FIRED,
                        "subject": t.person,
                        "time": utc(t.due_at),
                        "data": {"journey": t.journey_id, "step": t.step, "timer": t.id},
                    }
                    for t in due
                ],
                now,
            )
            for part in chunks([t.id for t in due]):
                conn.execute(update(timers).where(timers.c.id.in_(part)).values(status="fired"))
            return len(due)

    # -- effects -------------------------------------------------------------------
    # The effect queue is read one status at a time, each in the order of its index
    # (``ix_outbox_status_next``): an ordered index scan with a limit reads only the rows it
    # returns. One condition for both statuses (``a OR b``) makes PostgreSQL gather every index
    # entry of both first (a bitmap), including every version a busy queue has left behind
    # until it is vacuumed: the whole day's effects, on every look.
    @staticmethod
    def _due(at):
        """Pending effects due by ``at``."""
        return (outbox.c.status == EffectStatus.PENDING) & (outbox.c.next_attempt_at <= at)

    @staticmethod
    def _expired(at):
        """Effects in flight whose lease ran out before ``at`` (their worker stopped)."""
        return (outbox.c.status == EffectStatus.INFLIGHT) & (outbox.c.lease_until < at)

    @staticmethod
    def _first(condition, limit):
        return select(outbox.c.id).where(condition).order_by(outbox.c.next_attempt_at).limit(limit)

    def _walk_index(self, conn: Connection) -> None:
        """On PostgreSQL, read the queue by walking its index for the rest of this transaction. A
        bitmap scan (the planner's choice while it thinks few rows match) visits every version
        the index holds, including every effect settled since the last vacuum; a walk marks the
        dead ones as it passes and steps over them from then on."""
        if self.pg:
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")

    def effects_in_hand(self, now: datetime, up_to: int) -> int:
        """How many effects are due or in hand (counted up to ``up_to``): the work already under
        way, which decides whether the dispatcher starts more journeys (``Worker.slice_size``)."""
        with self.reader.connect() as conn:
            self._walk_index(conn)
            return min(up_to, conn.execute(self._read("in_hand"), {"now": now, "limit": up_to}).scalar())

    def _claimable_looks(self, at) -> list:
        return [self._first(self._due(at), 1), self._first(self._expired(at), 1)]

    def effects_waiting(self, now: datetime) -> bool:
        """Whether any effect may be claimed now (a cheap look, without locks)."""
        with self.reader.connect() as conn:
            self._walk_index(conn)
            return bool(conn.execute(self._read("waiting"), {"now": now}).scalar())

    def claim_effects(self, now: datetime, limit: int, lease_seconds: float) -> list[Effect]:
        """Lease up to ``limit`` effects, in one statement: the due ones, earliest due first, and
        those whose lease ran out; they are chosen (on PostgreSQL locked, skipping those another
        worker holds), marked in flight and read back together (``UPDATE ... RETURNING``).
        Returned in the order they were queued (``id``)."""
        # On SQLite a look without the write lock first, so an empty queue does not take the
        # writer's turn; PostgreSQL's claim skips rows others hold and waits for nothing.
        if not self.pg and not self.effects_waiting(now):
            return []
        lease = now + timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            self._walk_index(conn)
            rows = conn.execute(self._read("claim"), {"now": now, "limit": limit, "lease": lease}).all()
        rows.sort(key=lambda r: r.id)
        parse = (lambda v: v) if self.pg else json_value
        return [
            Effect(key=r.key, journey=r.journey_id, person=r.person, step=r.step, kind=r.kind,
                   payload=parse(r.payload), max_attempts=r.max_attempts, backoff_seconds=r.backoff_seconds,
                   id=r.id, attempts=r.attempts)
            for r in rows
        ]

    def settle_effects(self, settlements: Sequence[Settlement], now: datetime) -> None:
        done, retry, dead, events = [], [], [], []
        for s in settlements:
            e, r = s.effect, s.result
            if r.verdict is Verdict.DONE:
                done.append({"done_at": now, "id": e.id})
                if s.emits_result:
                    events.append(self._effect_event(EFFECT_COMPLETED, "effect", e, {"result": r.result}))
            elif r.verdict is Verdict.RETRY and e.attempts < e.max_attempts:
                delay = e.backoff_seconds * (2 ** (e.attempts - 1))
                retry.append({"next_attempt_at": now + timedelta(seconds=delay), "last_error": r.error,
                              "id": e.id})
            else:
                reason = r.error if r.verdict is Verdict.FAIL else f"gave up after {e.attempts} attempts: {r.error}"
                dead.append({"last_error": reason, "id": e.id})
                events.append(self._effect_event(EFFECT_DEAD_LETTERED, "dead", e, {"reason": reason}))
        inflight = f"\"status\" = '{EffectStatus.INFLIGHT}'"
        with self.engine.begin() as conn:
            self.bulk.update(conn, outbox, ("done_at",), ("id",), done, extra_where=inflight,
                             extra_set=f"\"status\" = '{EffectStatus.DONE}', lease_until = NULL, last_error = NULL")
            self.bulk.update(conn, outbox, ("next_attempt_at", "last_error"), ("id",), retry,
                             extra_where=inflight,
                             extra_set=f"\"status\" = '{EffectStatus.PENDING}', lease_until = NULL")
            self.bulk.update(conn, outbox, ("last_error",), ("id",), dead, extra_where=inflight,
                             extra_set=f"\"status\" = '{EffectStatus.DEAD}', lease_until = NULL")
            if events:
                self._engine_events(conn, events, now)

    @staticmethod
    def _effect_event(kind: str, prefix: str, e: Effect, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": f"{prefix}:{e.key}",
            "type": kind,
            "subject": e.person,
            "time": None,
            "data": {"journey": e.journey, "step": e.step, "key": e.key, **data},
        }

    def record_deliveries(self, effects: Sequence[Effect], now: datetime) -> None:
        """The embedded provider's own record: one row per idempotency key, ever."""
        rows = self.bulk.prepare(deliveries, [
            {"key": e.key, "kind": e.kind, "journey_id": e.journey, "person": e.person,
             "step": e.step, "payload": e.payload, "performed_at": now}
            for e in effects
        ], ignore_conflicts=True)
        if rows is None:
            return
        with self.engine.begin() as conn:
            self.bulk.run(conn, rows)

    def publish(self, type_: str, subject: str, data: dict[str, Any], now: datetime) -> None:
        """Put one of the platform's own events in the inbox (a consent change, say)."""
        from ...domain.ids import uuid7

        with self.engine.begin() as conn:
            self._engine_events(conn, [{"event_id": f"{type_}:{uuid7()}", "type": type_, "subject": subject,
                                        "time": now, "data": data}], now)

    def request_cancel(self, journey_id: str, reason: str, now: datetime) -> bool:
        """Queue a cancellation as an engine event, so it takes its place in the person's order."""
        from ...domain.events import JOURNEY_CANCEL_REQUESTED
        from ...domain.ids import uuid7

        with self.engine.begin() as conn:
            person = conn.execute(select(journeys.c.person).where(journeys.c.id == journey_id)).scalar()
            if person is None:
                return False
            self._engine_events(conn, [{
                "event_id": f"cancel:{uuid7()}", "type": JOURNEY_CANCEL_REQUESTED, "subject": person,
                "time": now, "data": {"journey": journey_id, "reason": reason},
            }], now)
        return True

    def confirm_outcome(self, person: str, moment: str, detail: dict[str, Any], now: datetime) -> str | None:
        """Mark the person's newest completed journey of ``moment`` as having a confirmed outcome
        (``state.outcome.confirmed``), with a timeline line; returns its id, or None if there is none
        with an outcome. Idempotent: a confirmed outcome stays as first confirmed."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(journeys).where(
                journeys.c.person == person, journeys.c.moment == moment,
                journeys.c.status == "completed").order_by(journeys.c.started_at.desc())).all()
            found = next((r for r in rows if (r.state or {}).get("outcome")), None)
            if found is None:
                return None
            if found.state["outcome"].get("confirmed"):
                return found.id
            outcome = {**found.state["outcome"], "confirmed": {**detail, "at": now.isoformat()}}
            state = {**found.state, "outcome": outcome}
            conn.execute(update(journeys).where(journeys.c.id == found.id, journeys.c.version == found.version)
                         .values(state=state, version=found.version + 1, updated_at=now))
            conn.execute(insert(timeline).values(journey_id=found.id, at=now, kind="outcome-confirmed", step=None,
                                                 detail=detail))
            return found.id

    # -- queries -------------------------------------------------------------------
    def journey(self, journey_id: str) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            j = conn.execute(select(journeys).where(journeys.c.id == journey_id)).first()
            if j is None:
                return None
            tl = conn.execute(
                select(timeline).where(timeline.c.journey_id == journey_id).order_by(timeline.c.id)
            ).all()
            fx = conn.execute(
                select(outbox.c.key, outbox.c.step, outbox.c.kind, outbox.c.status, outbox.c.attempts,
                       outbox.c.last_error, outbox.c.done_at)
                .where(outbox.c.journey_id == journey_id).order_by(outbox.c.id)
            ).all()
        return {
            "journey": self._journey(j),
            "timeline": [dict(r._mapping) for r in tl],
            "effects": [dict(r._mapping) for r in fx],
        }

    def journeys_for(self, person: str | None = None, limit: int = 100) -> list[Journey]:
        if person is None:
            q, values = select(journeys).order_by(journeys.c.started_at).limit(limit), {}
        else:  # every portal page: built once
            q, values = _JOURNEYS_OF, {"person": person, "limit": limit}
        with self.reader.connect() as conn:
            return [self._journey(r) for r in conn.execute(q, values)]

    def deliveries(self) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(deliveries).order_by(deliveries.c.performed_at, deliveries.c.key))
            return [dict(r._mapping) for r in rows]

    def quarantined(self, limit: int = 100) -> list[dict[str, Any]]:
        q = (
            select(inbox.c.seq, inbox.c.source, inbox.c.event_id, inbox.c.type, inbox.c.error,
                   inbox.c.received_at)
            .where(QUARANTINED_EVENT)
            .order_by(inbox.c.seq)
            .limit(limit)
        )
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def replay(self, seqs: Sequence[int] | None = None) -> int:
        """Put quarantined events back in the inbox; they keep their place in order."""
        stmt = update(inbox).where(QUARANTINED_EVENT)
        if seqs is not None:
            stmt = stmt.where(inbox.c.seq.in_(list(seqs)))
        with self.engine.begin() as conn:
            return conn.execute(stmt.values(status=EventStatus.PENDING)).rowcount

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        q = (
            select(outbox.c.id, outbox.c.key, outbox.c.kind, outbox.c.attempts, outbox.c.last_error)
            .where(outbox.c.status == EffectStatus.DEAD)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self.reader.connect() as conn:
            for name, table in (("events", inbox), ("journeys", journeys), ("effects", outbox),
                                ("timers", timers)):
                rows = conn.execute(select(table.c.status, func.count()).group_by(table.c.status))
                out[name] = {r[0]: r[1] for r in rows}
        return out

    def is_idle(self, now: datetime) -> bool:
        """Nothing left to do now: no pending event, no due effect, no in-flight effect."""
        with self.reader.connect() as conn:
            pending = conn.execute(
                select(func.count()).select_from(inbox).where(PENDING_EVENT)
            ).scalar()
            effects = conn.execute(
                select(func.count()).select_from(outbox).where(
                    outbox.c.status.in_([EffectStatus.PENDING, EffectStatus.INFLIGHT])
                    & or_(outbox.c.next_attempt_at <= now, outbox.c.status == EffectStatus.INFLIGHT)
                )
            ).scalar()
            due = conn.execute(
                select(func.count()).select_from(timers).where(PENDING_TIMER,
                                                                timers.c.due_at <= now)
            ).scalar()
        return not (pending or effects or due)

    def close(self) -> None:
        for end in self.on_close:
            end()
        self.engine.dispose()
        self.reader.dispose()
