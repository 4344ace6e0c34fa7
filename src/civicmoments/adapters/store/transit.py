"""Travel tokens and the chargeback ledger, in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.engine import Engine

from .schema import chargebacks, travel_tokens


class TransitStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine, self.reader = engine, reader or engine

    def register(self, token_hash: str, person: str, now: datetime, expires: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(travel_tokens).where(travel_tokens.c.person_id == person,
                                                     travel_tokens.c.revoked_at.is_(None))
                         .values(revoked_at=now))  # one card at a time: a new one replaces the old
            conn.execute(travel_tokens.delete().where(travel_tokens.c.token_hash == token_hash))
            conn.execute(travel_tokens.insert(), {"token_hash": token_hash, "person_id": person,
                                                  "registered_at": now, "expires_at": expires, "revoked_at": None})

    def holder(self, token_hash: str, now: datetime) -> str | None:
        """The person a live token belongs to; None if unknown, expired or replaced."""
        with self.reader.connect() as conn:
            r = conn.execute(select(travel_tokens.c.person_id, travel_tokens.c.expires_at)
                             .where(travel_tokens.c.token_hash == token_hash,
                                    travel_tokens.c.revoked_at.is_(None))).first()
        if r is None:
            return None
        expires = r.expires_at if r.expires_at.tzinfo else r.expires_at.replace(tzinfo=now.tzinfo)
        return r.person_id if expires > now else None

    def add_fare(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(chargebacks.insert(), row)

    def statement(self, org_id: str, month: str) -> list[dict[str, Any]]:
        # The UTC day, as the month is the UTC month: PostgreSQL would otherwise write the session's zone.
        day = (func.to_char(func.timezone("UTC", chargebacks.c.at), "YYYY-MM-DD")
               if self.reader.dialect.name == "postgresql" else func.substr(cast(chargebacks.c.at, String), 1, 10))
        with self.reader.connect() as conn:
            rows = conn.execute(select(day.label("day"), func.count().label("fares"),
                                       func.sum(chargebacks.c.fare_pence).label("total"))
                                .where(chargebacks.c.org_id == org_id, chargebacks.c.month == month)
                                .group_by(day).order_by(day)).all()
        return [{"day": r.day, "fares": r.fares, "total_pence": int(r.total)} for r in rows]
