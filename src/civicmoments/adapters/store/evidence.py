"""Documents attached to cases, in SQL (SQLite and PostgreSQL); the content arrives sealed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from .schema import case_evidence

LISTED = [c for c in case_evidence.c if c.name != "content"]


class EvidenceStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine

    def add(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(case_evidence), row)

    def for_case(self, case_id: str) -> list[dict[str, Any]]:
        """The case's documents without their content, oldest first."""
        with self.reader.connect() as conn:
            rows = conn.execute(select(*LISTED).where(case_evidence.c.case_id == case_id)
                                .order_by(case_evidence.c.uploaded_at, case_evidence.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def get(self, evidence_id: str) -> dict[str, Any] | None:
        """One document with its sealed content, or None."""
        with self.reader.connect() as conn:
            r = conn.execute(select(case_evidence).where(case_evidence.c.id == evidence_id)).first()
        return dict(r._mapping) if r else None
