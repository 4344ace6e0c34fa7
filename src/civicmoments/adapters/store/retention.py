"""What retention deletes or anonymises, in SQL: superseded facts, message text, share payloads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from ...domain.people import TIER_RANK, Tier
from .profiles import Projection, survivors
from .schema import erasure_requests, facts, messages, outbox
from .sql import chunks, utc


class RetentionStore:
    def __init__(self, engine: Engine, reader: Engine, projection: Projection | None = None) -> None:
        self.engine, self.reader = engine, reader
        self.projection = projection or Projection(engine.dialect.name)  # the registry's, with the pack's rule

    def superseded_facts(self, before: datetime) -> list[int]:
        """Facts recorded before ``before`` that a newer fact of the same or a better tier has
        replaced (so they are no longer what the profile shows)."""
        with self.reader.connect() as conn:
            old = conn.execute(select(facts.c.seq, facts.c.person_id, facts.c.attribute, facts.c.tier,
                                      facts.c.recorded_at).where(facts.c.recorded_at < before)).all()
            keys = {(r.person_id, r.attribute) for r in old}
            best: dict[tuple[str, str], list[tuple[Any, int, int]]] = {}
            for part in chunks(sorted({k[0] for k in keys}), 1000):
                for r in conn.execute(select(facts.c.seq, facts.c.person_id, facts.c.attribute, facts.c.tier,
                                             facts.c.recorded_at).where(facts.c.person_id.in_(list(part)))):
                    best.setdefault((r.person_id, r.attribute), []).append(
                        (r.recorded_at, TIER_RANK[Tier(r.tier)], r.seq))
        out = []
        for r in old:
            rank = TIER_RANK[Tier(r.tier)]
            if any(at > r.recorded_at and other_rank >= rank for at, other_rank, _ in best[(r.person_id, r.attribute)]):
                out.append(r.seq)
        return out

    def delete_facts(self, seqs: Sequence[int]) -> int:
        """Delete facts and re-project the profiles they counted in, in one transaction."""
        with self.engine.begin() as conn:
            owners: set[str] = set()
            for p in chunks(list(seqs), 1000):
                owners.update(conn.execute(select(facts.c.person_id).where(facts.c.seq.in_(list(p)))).scalars())
            deleted = sum(conn.execute(delete(facts).where(facts.c.seq.in_(list(p)))).rowcount
                          for p in chunks(list(seqs), 1000))
            self.projection.reproject(conn, survivors(conn, owners))
            return deleted

    def messages_past(self, purpose: str, before: datetime) -> list[dict[str, Any]]:
        """Messages for ``purpose`` created before ``before`` whose text is still there."""
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(messages.c.id, messages.c.person_id, messages.c.locale).where(
                    messages.c.purpose == purpose, messages.c.created_at < before, messages.c.removed_at.is_(None)))]

    def replace_message_text(self, rows: Sequence[tuple[str, str]], now: datetime) -> None:
        """(message id, new encrypted content) pairs; nothing more is sent or awaited for them."""
        with self.engine.begin() as conn:
            for message_id, content in rows:
                conn.execute(update(messages).where(messages.c.id == message_id).values(content=content,
                                                                                        removed_at=now, next_at=None))

    def finished_shares(self, before: datetime) -> list[dict[str, Any]]:
        with self.reader.connect() as conn:
            return [{"id": r.id, "payload": r.payload, "done_at": utc(r.done_at)} for r in conn.execute(
                select(outbox.c.id, outbox.c.payload, outbox.c.done_at).where(
                    outbox.c.kind == "share", outbox.c.done_at.is_not(None), outbox.c.done_at < before))
                if "removed" not in r.payload]

    def minimise_shares(self, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
        with self.engine.begin() as conn:
            for outbox_id, payload in rows:
                conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(payload=payload))

    def add_erasure_request(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(erasure_requests.insert().values(**row))

    def erasure_requests(self, person_id: str | None = None) -> list[dict[str, Any]]:
        q = select(erasure_requests).order_by(erasure_requests.c.requested_at)
        if person_id is not None:
            q = q.where(erasure_requests.c.person_id == person_id)
        with self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
