"""A work coach's support records for a person, in SQL: append-only, the newest of a kind counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from .schema import support_records


class SupportStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine

    def add(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(support_records), row)

    def of_person(self, person: str) -> list[dict[str, Any]]:
        """Every record of the person, oldest first."""
        with self.reader.connect() as conn:
            rows = conn.execute(select(support_records).where(support_records.c.person_id == person)
                                .order_by(support_records.c.recorded_at, support_records.c.id)).all()
        return [dict(r._mapping) for r in rows]
