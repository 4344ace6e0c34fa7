"""The access log: appended in batches, hash-chained, checkpointed with Ed25519 signatures."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..adapters.crypto import Signer
from ..domain import audit as A
from ..domain.clock import Clock


@dataclass
class Report:
    entries: int
    checkpoint: int | None
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


def _message(seq: int, head: str) -> bytes:
    return f"civicmoments-access-log:{seq}:{head}".encode()


class AuditLog:
    def __init__(self, store, signer: Signer, clock: Clock) -> None:
        self.store, self.signer, self.clock = store, signer, clock

    def append(self, bodies: Sequence[dict[str, Any]]) -> list[A.Entry]:
        return self.store.append_log(list(bodies), A.chain) if bodies else []

    def public_key(self) -> str:
        raw = self.signer.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def checkpoint(self) -> tuple[int, str] | None:
        seq, head = self.store.log_head()
        if seq == 0:
            return None
        self.store.add_checkpoint({"seq": seq, "head": head, "signature": self.signer.sign(_message(seq, head)),
                                   "public_key": self.public_key(), "at": self.clock.now()})
        return seq, head

    def verify(self) -> Report:
        found = self.store.last_checkpoint()
        problems: list[str] = []
        checkpoint = None
        if found is not None:
            checkpoint, row = found
            if row["public_key"] != self.public_key():
                problems.append(f"the checkpoint at entry {row['seq']} was signed by a key this platform "
                                "does not hold")
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(row["public_key"]))
            if not Signer.verify(public, _message(row["seq"], row["head"]), row["signature"]):
                problems.append(f"the checkpoint at entry {row['seq']} has a bad signature: it was altered")
        count = 0

        def counted():
            nonlocal count
            for e in self.store.log_entries():
                count += 1
                yield e

        problems += A.verify(counted(), checkpoint)
        return Report(count, checkpoint.seq if checkpoint else None, problems)
