"""The access log's hash chain: each entry holds the hash of the one before it.

``verify`` walks the chain and compares its head with the last signed checkpoint, and says
in plain words what it found and where: an edited entry, a deleted one, a reordering, or a
log cut short.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def link(prev: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(prev.encode() + canonical(body)).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    prev: str
    hash: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head: str


def chain(prev: str, first_seq: int, bodies: Iterable[dict[str, Any]]) -> list[Entry]:
    out = []
    for i, body in enumerate(bodies):
        h = link(prev, body)
        out.append(Entry(first_seq + i, prev, h, body))
        prev = h
    return out


def verify(entries: Iterable[Entry], checkpoint: Checkpoint | None) -> list[str]:
    """Every problem found, in order; an empty list means the log is intact."""
    problems: list[str] = []
    prev_hash, expected_seq, last = GENESIS, 1, None
    seen_at_checkpoint: str | None = None
    for e in entries:
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                missing = f"{expected_seq}" if e.seq == expected_seq + 1 else f"{expected_seq} to {e.seq - 1}"
                problems.append(f"entry {missing} is missing: deleted")
            else:
                problems.append(f"entry {e.seq} appears after entry {expected_seq - 1}: reordered")
        if link(e.prev, e.body) != e.hash:
            problems.append(f"entry {e.seq} was edited: its content does not match its hash")
        if e.prev != prev_hash:
            problems.append(f"entry {e.seq} does not follow the entry before it: "
                            "something was removed, inserted or reordered")
        if checkpoint is not None and e.seq == checkpoint.seq:
            seen_at_checkpoint = e.hash
        prev_hash, expected_seq, last = e.hash, e.seq + 1, e
    if checkpoint is not None:
        if last is None or last.seq < checkpoint.seq:
            end = last.seq if last else 0
            problems.append(f"the log ends at entry {end}, but a checkpoint was signed at entry "
                            f"{checkpoint.seq}: it was cut short")
        elif seen_at_checkpoint != checkpoint.head:
            problems.append(f"entry {checkpoint.seq} does not match the signed checkpoint: "
                            "the chain was rewritten")
    return problems
