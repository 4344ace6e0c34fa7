"""Awards, payments, payment runs and files, and bank-detail changes, in SQL (SQLite and PostgreSQL).

A payment row is unique on (award, period, kind): scheduling the same award twice adds nothing, and a
payment belongs to at most one file. A run assigns due payments to a file in one transaction (the file
row and the payments' ``batched`` status together), then writes the file, then marks it written; a run
that was killed finds assigned files not yet written and writes them again, with the same payments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .bulk import Bulk
from .paths import by_key, unindexed
from .schema import awards, bank_changes, payment_files, payment_runs, payments


class PaymentStore:
    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.bulk = Bulk(engine.dialect.name)
        self.engine, self.reader = engine, reader or engine

    # -- awards ----------------------------------------------------------------------
    def add_award(self, row: dict[str, Any], rows: Sequence[dict[str, Any]]) -> tuple[str, bool]:
        """Insert an award and its scheduled payments; an award with the same key is returned instead."""
        try:
            with self.engine.begin() as c:
                c.execute(insert(awards).values(**row))
                if rows:
                    c.execute(insert(payments), list(rows))
            return row["id"], True
        except IntegrityError:
            with self.reader.connect() as c:
                return c.execute(select(awards.c.id).where(awards.c.key == row["key"])).scalar_one(), False

    def add_awards(self, rows: Sequence[dict[str, Any]], payment_rows: Sequence[dict[str, Any]]) -> dict[str, str]:
        """Insert awards and their scheduled payments in one transaction. An award whose ``key`` is held
        already (an earlier grant, or another worker's at the same moment) is left as it is, and none of
        the payments of the row that lost are added. Returns ``{key: id of the award held under it}``."""
        if not rows:
            return {}
        keys = list(dict.fromkeys(r["key"] for r in rows))
        # The payments are converted before the transaction begins (SQLite has one writer at a time);
        # only those of the awards that won their key are inserted.
        cols = tuple(payment_rows[0]) if payment_rows else ()
        converted = self.bulk.tuples(payments, cols, payment_rows) if payment_rows else []
        award_at = cols.index("award_id") if payment_rows else 0
        with self.engine.begin() as c:
            ins = pg_insert if c.dialect.name == "postgresql" else sqlite_insert
            c.execute(ins(awards).on_conflict_do_nothing(index_elements=["key"]), list(rows))
            held: dict[str, str] = {}
            for lo in range(0, len(keys), 500):
                held.update(c.execute(select(awards.c.key, awards.c.id)
                                      .where(awards.c.key.in_(keys[lo:lo + 500]))).all())
            won = {r["id"] for r in rows if held.get(r["key"]) == r["id"]}
            self.bulk.run(c, self.bulk.prepare_tuples(payments, cols, [v for v in converted if v[award_at] in won]))
        return held

    def awards_by_key(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{key: award}`` for the keys that have an award."""
        keys, out = list(keys), {}
        with self.reader.connect() as c:
            for lo in range(0, len(keys), 500):
                out.update({r["key"]: dict(r) for r in c.execute(
                    select(awards).where(awards.c.key.in_(keys[lo:lo + 500]))).mappings()})
        return out

    def awards_of_many(self, persons: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """``{person: their awards, earliest start first}`` (``awards_of`` for many people in one read)."""
        persons, out = list(dict.fromkeys(persons)), {}
        with self.reader.connect() as c:
            for lo in range(0, len(persons), 500):
                for r in c.execute(select(awards).where(awards.c.person_id.in_(persons[lo:lo + 500]))
                                   .order_by(awards.c.start_on)).mappings():
                    out.setdefault(r["person_id"], []).append(dict(r))
        return out

    def first_payments(self, award_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{award id: its first payment (earliest pay day, then sequence)}`` for awards with payments."""
        ids, out = list(dict.fromkeys(award_ids)), {}
        with self.reader.connect() as c:
            for lo in range(0, len(ids), 500):
                for r in c.execute(select(payments).where(payments.c.award_id.in_(ids[lo:lo + 500]))
                                   .order_by(payments.c.pay_on, payments.c.seq)).mappings():
                    out.setdefault(r["award_id"], dict(r))
        return out

    def add_payments(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert payments not already there (by award, period, kind); how many were new."""
        added = 0
        with self.engine.begin() as c:
            have = {(r.award_id, r.period, r.kind) for r in c.execute(
                select(payments.c.award_id, payments.c.period, payments.c.kind)
                .where(payments.c.award_id.in_({r["award_id"] for r in rows})))} if rows else set()
            new = [r for r in rows if (r["award_id"], r["period"], r["kind"]) not in have]
            if new:
                c.execute(insert(payments), new)
                added = len(new)
        return added

    def award(self, award_id: str) -> dict[str, Any] | None:
        with self.reader.connect() as c:
            r = c.execute(select(awards).where(awards.c.id == award_id)).mappings().first()
        return dict(r) if r else None

    def awards_of(self, person: str) -> list[dict[str, Any]]:
        with self.reader.connect() as c:
            return [dict(r) for r in c.execute(select(awards).where(awards.c.person_id == person)
                                               .order_by(awards.c.start_on)).mappings()]

    def set_award(self, award_id: str, now: datetime, **values: Any) -> None:
        with self.engine.begin() as c:
            c.execute(update(awards).where(awards.c.id == award_id).values(**values, updated_at=now))

    def incomplete(self) -> list[dict[str, Any]]:
        """Awards whose schedule stops before their end (rates not published, calendar not known)."""
        with self.reader.connect() as c:
            return [dict(r) for r in c.execute(select(awards).where(
                awards.c.schedule_stops.in_(("rates", "calendar")), awards.c.status.in_(("active", "suspended")))
                .order_by(awards.c.scheduled_to, awards.c.id)).mappings()]

    # -- payments ----------------------------------------------------------------------
    def payments_of(self, *, person: str | None = None, award: str | None = None,
                    file_ref: str | None = None) -> list[dict[str, Any]]:
        q = select(payments)
        if person is not None:
            q = q.where(payments.c.person_id == person)
        if award is not None:
            q = q.where(payments.c.award_id == award)
        if file_ref is not None:
            q = q.where(payments.c.file_ref == file_ref)
        with self.reader.connect() as c:
            return [dict(r) for r in c.execute(q.order_by(payments.c.pay_on, payments.c.seq)).mappings()]

    def set_status(self, seqs: Sequence[int], status: str, now: datetime, *, expect: Sequence[str] | None = None,
                   held_reason: str | None = None) -> int:
        """Move payments to ``status`` (only those in ``expect`` if given); how many moved."""
        if not seqs:
            return 0
        q = update(payments).where(payments.c.seq.in_(list(seqs)))
        if expect is not None:  # by their keys, the status a filter (paths.py)
            q = q.where(unindexed(payments.c.status).in_(list(expect)))
        with self.engine.begin() as c, by_key(c):
            return c.execute(q.values(status=status, status_at=now, held_reason=held_reason)).rowcount

    def reprice(self, seq: int, amount: int, now: datetime) -> None:
        """A held payment at its corrected amount, scheduled again (after a decision maker's decision)."""
        with self.engine.begin() as c:
            c.execute(update(payments).where(payments.c.seq == seq, payments.c.status == "held")
                      .values(amount=amount, status="scheduled", held_reason=None, status_at=now))

    def due(self, day: date, limit: int) -> list[Any]:
        """Up to ``limit`` scheduled payments whose working day is ``day`` or earlier (a suspension or an end
        has already held or cancelled the rest), oldest first, read along ``ix_payments_due`` (status,
        pay_on, seq) with no sort: (seq, award_id, person_id, period, kind, amount, hold, service, end_to_end). A run
        moves every row it reads out of ``scheduled``, so the next call starts where this one ended."""
        q = (select(payments.c.seq, payments.c.award_id, payments.c.person_id, payments.c.period, payments.c.kind,
                    payments.c.amount, awards.c.hold, awards.c.service, payments.c.end_to_end)
             .join(awards, awards.c.id == payments.c.award_id)
             .where(payments.c.status == "scheduled", payments.c.pay_on <= day)
             .order_by(payments.c.pay_on, payments.c.seq).limit(limit))
        with self.reader.connect() as c:
            return c.execute(q).all()

    # -- runs and files ------------------------------------------------------------------
    def run(self, day: date) -> dict[str, Any] | None:
        with self.reader.connect() as c:
            r = c.execute(select(payment_runs).where(payment_runs.c.run_on == day)).mappings().first()
        return dict(r) if r else None

    def start_run(self, day: date, now: datetime) -> dict[str, Any]:
        """The run for ``day``: a new one, or the one already there (done, or killed while running)."""
        try:
            with self.engine.begin() as c:
                c.execute(insert(payment_runs).values(run_on=day, status="running", started_at=now, payments=0,
                                                      total=0))
        except IntegrityError:
            pass
        return self.run(day)  # type: ignore[return-value]

    def finish_run(self, day: date, now: datetime) -> dict[str, Any]:
        with self.engine.begin() as c:
            n, total = c.execute(select(func.coalesce(func.sum(payment_files.c.payments), 0),
                                        func.coalesce(func.sum(payment_files.c.total), 0))
                                 .where(payment_files.c.run_on == day)).one()
            c.execute(update(payment_runs).where(payment_runs.c.run_on == day)
                      .values(status="done", finished_at=now, payments=n, total=total))
        return self.run(day)  # type: ignore[return-value]

    def assign(self, day: date, ref: str, chosen: Sequence[tuple[int, int, str]], now: datetime) -> int:
        """One transaction: the file row, and its payments (seq, amount, last four) batched into it.
        Only payments still scheduled move; the file's count and total are theirs. Returns how many."""
        with self.engine.begin() as c:
            moved = 0
            total = 0
            for seq, amount, last4 in chosen:
                n = c.execute(update(payments).where(payments.c.seq == seq, payments.c.status == "scheduled")
                              .values(status="batched", file_ref=ref, account_last4=last4, status_at=now)).rowcount
                moved += n
                total += amount if n else 0
            c.execute(insert(payment_files).values(ref=ref, run_on=day, payments=moved, total=total))
        return moved

    def assign_bulk(self, day: date, ref: str, seqs: Sequence[int], amounts: int, last4: Sequence[str],
                    now: datetime) -> None:
        """As :meth:`assign`, for payments just read as scheduled by this (the only) run: the file row and
        the payments in one transaction, the payments in one driver-level executemany (fast at scale)."""
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        at = now.isoformat(sep=" ") if self.engine.dialect.name == "sqlite" else now
        sql = (f"UPDATE payments SET status = 'batched', file_ref = {mark}, account_last4 = {mark}, "
               f"status_at = {mark} WHERE seq = {mark} AND status = 'scheduled'")
        with self.engine.begin() as c:
            c.exec_driver_sql(sql, [(ref, lf, at, s) for s, lf in zip(seqs, last4, strict=True)])
            c.execute(insert(payment_files).values(ref=ref, run_on=day, payments=len(seqs), total=amounts))

    def files(self, day: date) -> list[dict[str, Any]]:
        with self.reader.connect() as c:
            return [dict(r) for r in c.execute(select(payment_files).where(payment_files.c.run_on == day)
                                               .order_by(payment_files.c.ref)).mappings()]

    def file_payments(self, ref: str) -> list[Any]:
        with self.reader.connect() as c:
            return c.execute(select(payments.c.seq, payments.c.award_id, payments.c.person_id,
                                    payments.c.period, payments.c.kind, payments.c.amount,
                                    awards.c.service, payments.c.end_to_end)
                             .join(awards, awards.c.id == payments.c.award_id)
                             .where(payments.c.file_ref == ref).order_by(payments.c.seq)).all()

    def file_written(self, ref: str, sha256: str, now: datetime) -> None:
        with self.engine.begin() as c:
            c.execute(update(payment_files).where(payment_files.c.ref == ref).values(sha256=sha256, written_at=now))
            c.execute(update(payments).where(and_(payments.c.file_ref == ref, payments.c.status == "batched"))
                      .values(status="sent", status_at=now))

    def by_end_to_end(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Payments sent (or settled) by their end-to-end ids, the ids the bank's report names."""
        out: dict[str, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(ids))
        with self.reader.connect() as c:
            for i in range(0, len(wanted), 500):
                for r in c.execute(select(payments).where(payments.c.end_to_end.in_(wanted[i:i + 500]),
                                                          payments.c.status.in_(("sent", "paid", "returned",
                                                                                 "rejected")))).mappings():
                    out[r["end_to_end"]] = dict(r)
        return out

    # -- bank detail changes ----------------------------------------------------------------
    def add_change(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as c:
            c.execute(insert(bank_changes).values(**row))

    def change(self, change_id: str) -> dict[str, Any] | None:
        with self.reader.connect() as c:
            r = c.execute(select(bank_changes).where(bank_changes.c.id == change_id)).mappings().first()
        return dict(r) if r else None

    def confirm_change(self, change_id: str, now: datetime) -> bool:
        with self.engine.begin() as c:
            return c.execute(update(bank_changes).where(bank_changes.c.id == change_id,
                                                        bank_changes.c.confirmed_at.is_(None))
                             .values(confirmed_at=now)).rowcount == 1

    def change_tried(self, change_id: str) -> int:
        """Count a wrong code against the change; returns the wrong codes entered so far."""
        with self.engine.begin() as c:
            c.execute(update(bank_changes).where(bank_changes.c.id == change_id)
                      .values(tries=bank_changes.c.tries + 1))
            return c.execute(select(bank_changes.c.tries).where(bank_changes.c.id == change_id)).scalar() or 0

    def last_confirmed_change(self, person: str) -> datetime | None:
        with self.reader.connect() as c:
            return c.execute(select(func.max(bank_changes.c.confirmed_at))
                             .where(bank_changes.c.person_id == person)).scalar()

