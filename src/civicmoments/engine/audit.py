"""The access log: appended in batches, hash-chained, and checkpointed automatically.

A checkpoint is numbered, names the digest of the checkpoint before it, is signed with
Ed25519, and is written both to the database and to a copy outside it (an append-only file,
``CIVIC_AUDIT_COPY``). One is taken once ``every_entries`` entries are not yet covered (by the
process that appended them) and once the oldest uncovered entry is ``every_minutes`` old (by
``due()``, which `civic serve` and `civic worker` call). Taking one holds the log's lock, so one
process at a time numbers them.

``verify`` checks the chain of entries, every column readers use, the chain of checkpoints and
their signatures, compares them with the external copy, and fails when the newest checkpoint is
missing or older than the intervals allow.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..adapters.crypto import Signer
from ..domain import audit as A
from ..domain.clock import Clock, iso, parse_time
from ..logs import get

log = get("civic.audit")
FIELDS = ("number", "seq", "head", "prev", "at", "signature", "public_key")


@dataclass
class Report:
    entries: int
    checkpoint: int | None  # the entry the newest checkpoint covers
    problems: list[str]
    checkpoints: int = 0
    copy: str | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


def _checkpoint(row: dict[str, Any]) -> A.Checkpoint:
    return A.Checkpoint(int(row["seq"]), row["head"], int(row["number"]), row["prev"], row["at"])


class AuditLog:
    def __init__(self, store, signer: Signer, clock: Clock, copy=None, every_entries: int = 1000,
                 every_minutes: float = 10.0) -> None:
        self.store, self.signer, self.clock, self.copy = store, signer, clock, copy
        self.every_entries, self.every = every_entries, timedelta(minutes=every_minutes)
        self._covered: int | None = None  # the newest checkpointed entry this process knows of

    def append(self, bodies: Sequence[dict[str, Any]]) -> tuple[int, str] | None:
        """Append ``bodies`` as one batch: hashed in one pass, inserted in the same transaction,
        and, once ``every_entries`` entries are uncovered, checkpointed in that transaction too.
        Returns the new head (seq, hash), or None for no bodies. A checkpoint that fails
        (signing, the external copy) is logged and left to ``due()`` or the next append; the
        entries are kept."""
        if not bodies:
            return None
        if self._covered is None:
            last = self.store.last_checkpoint()
            self._covered = int(last["seq"]) if last else 0
        taken: list[dict[str, Any]] = []

        def due(seq: int) -> bool:
            return seq - (self._covered or 0) >= self.every_entries

        def make(last: dict[str, Any] | None, seq: int, head: str) -> dict[str, Any] | None:
            try:
                row = self._make(last, seq, head, only_if_due=True)
            except Exception as exc:  # noqa: BLE001 - the entries are safe; due() or the next append retries
                log.error("checkpoint failed", error=type(exc).__name__)
                return None
            if row is not None:
                taken.append(row)
            return row

        head = self.store.append_log(list(bodies), A.seal, (due, make))
        for row in taken:
            self._taken(row)
        return head

    def public_key(self) -> str:
        raw = self.signer.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def _overdue(self, last: dict[str, Any] | None, seq: int) -> bool:
        covered = int(last["seq"]) if last else 0
        if seq - covered >= self.every_entries:
            return True
        first = next(self.store.log_entries(after=covered, batch=1), None)
        return first is not None and "at" in first.body and parse_time(first.body["at"]) <= self.clock.now() - self.every

    def _make(self, last: dict[str, Any] | None, seq: int, head: str, only_if_due: bool) -> dict[str, Any] | None:
        """The next checkpoint's row, signed and already in the external copy; None when there is
        nothing new (or, ``only_if_due``, when no interval has passed)."""
        if seq == 0 or (last is not None and int(last["seq"]) >= seq):
            return None
        if only_if_due and not self._overdue(last, seq):
            return None
        cp = A.next_checkpoint(_checkpoint(last) if last else None, seq, head, iso(self.clock.now()))
        row = {"number": cp.number, "seq": cp.seq, "head": cp.head, "prev": cp.prev, "at": cp.at,
               "signature": self.signer.sign(cp.message()), "public_key": self.public_key()}
        if self.copy is not None:  # outside the database first: a copy never lags the table
            self.copy.append(row)
        return row

    def _taken(self, row: dict[str, Any]) -> None:
        self._covered = row["seq"]
        log.info("access log checkpoint", number=row["number"], seq=row["seq"])

    def checkpoint(self, only_if_due: bool = False) -> tuple[int, str] | None:
        """Sign the head now (or only when an interval has passed); None when nothing is new."""
        row = self.store.take_checkpoint(lambda last, seq, head: self._make(last, seq, head, only_if_due))
        if row is None:
            return None
        self._taken(row)
        return row["seq"], row["head"]

    def due(self) -> tuple[int, str] | None:
        """Take a checkpoint if either interval has passed; for a periodic caller."""
        return self.checkpoint(only_if_due=True)

    def _signed(self, row: dict[str, Any], where: str) -> list[str]:
        problems = []
        if row.get("public_key") != self.public_key():
            problems.append(f"checkpoint {row['number']}{where} was signed by a key this platform does not hold")
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(row["public_key"]))
            good = Signer.verify(public, _checkpoint(row).message(), row["signature"])
        except (KeyError, TypeError, ValueError):
            good = False
        if not good:
            problems.append(f"checkpoint {row['number']}{where} has a bad signature: it was altered")
        return problems

    def verify(self) -> Report:
        rows = {int(r["number"]): r for r in self.store.checkpoint_rows()}
        problems: list[str] = []
        for row in rows.values():
            problems += self._signed(row, "")
        copies: dict[int, dict[str, Any]] = {}
        if self.copy is not None:
            for rec in self.copy.read():
                if not {"number", "signature"} <= rec.keys():
                    continue
                bad = self._signed(rec, " (external copy)")
                problems += bad
                if not bad:  # only a copy this platform signed is evidence
                    copies[int(rec["number"])] = rec
            for n, rec in sorted(copies.items()):
                row = rows.get(n)
                if row is None:
                    problems.append(f"checkpoint {n} (entry {rec['seq']}) is in the external copy but missing "
                                    "from the database: deleted")
                elif any(str(row[f]) != str(rec[f]) for f in FIELDS):
                    problems.append(f"checkpoint {n} differs from its external copy: altered")
            for n in sorted(set(rows) - set(copies)):
                problems.append(f"checkpoint {n} is in the database but not in the external copy "
                                f"({self.copy.path}): added, or the copy was lost")
        # The external copy is the evidence; the table fills in only what the copy lacks.
        trusted = {**{n: r for n, r in rows.items()}, **copies}
        checkpoints = [_checkpoint(r) for _, r in sorted(trusted.items())]
        problems += A.verify_checkpoints(checkpoints)
        count, last_entry = 0, None

        def counted():
            nonlocal count, last_entry
            for e in self.store.log_entries():
                count += 1
                last_entry = e
                yield e

        problems += A.verify(counted(), checkpoints)
        newest = max(checkpoints, key=lambda c: c.number) if checkpoints else None
        problems += self._fresh(newest, count, last_entry)
        return Report(count, newest.seq if newest else None, problems, len(checkpoints),
                      str(self.copy.path) if self.copy is not None else None)

    def _fresh(self, newest: A.Checkpoint | None, count: int, last_entry: A.Entry | None) -> list[str]:
        """Checkpoints are taken automatically, so a log that has run past both intervals
        without one has lost its newest checkpoints (or nothing is taking them)."""
        if last_entry is None:
            return []
        covered = newest.seq if newest else 0
        uncovered = last_entry.seq - covered
        if uncovered <= 0:
            return []
        first = next(self.store.log_entries(after=covered, batch=1), None)
        grace = self.every + timedelta(minutes=1)  # the periodic check runs each minute
        old = first is not None and "at" in first.body and parse_time(first.body["at"]) < self.clock.now() - grace
        if uncovered <= 2 * self.every_entries and not old:
            return []
        what = f"the newest checkpoint is at entry {covered}" if newest else "there is no checkpoint"
        return [f"{what}, but entries {covered + 1} to {last_entry.seq} are not covered although checkpoints "
                f"are taken every {self.every_entries} entries and every {self.every.total_seconds() / 60:g} minutes: "
                "the newest "
                "checkpoints are missing, or nothing is taking them"]
