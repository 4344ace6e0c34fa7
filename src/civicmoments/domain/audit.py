"""The access log's hash chain: each entry holds the hash of the one before it, and signed,
numbered checkpoints chain the heads of the log one after another.

``verify`` walks the chain and compares it with every checkpoint, and says in plain words what
it found and where: an edited entry, a deleted one, a reordering, a log cut short, a column a
reader uses that no longer matches the hashed content, a checkpoint missing from the chain of
checkpoints, or a chain rewritten after a checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import is_
from typing import Any, NamedTuple

import orjson

GENESIS = "0" * 64
_NO_COLUMN = object()


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_PLAIN = frozenset((str, int, bool, type(None)))
_FAST = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS \
    | orjson.OPT_PASSTHROUGH_SUBCLASS


def _refuse(value: Any) -> Any:
    raise TypeError


def _fast(body: dict[str, Any]) -> bytes | None:
    """``canonical(body)`` written by orjson, or None when only ``json`` writes it exactly.

    For a body of plain strings, integers, booleans and nulls (and lists of them) orjson, keys
    sorted, writes the same bytes as ``json`` when its output is ASCII without DEL; they are
    also plain JSON, so a reader parses them back to the same body."""
    if type(body) is Stamped:  # orjson passes subclasses over (OPT_PASSTHROUGH_SUBCLASS)
        body = dict(body)
    for value in body.values():
        kind = type(value)
        if kind is list:
            if value and not _PLAIN.issuperset(map(type, value)):
                return None
        elif kind not in _PLAIN:
            return None
    try:
        out = orjson.dumps(body, default=_refuse, option=_FAST)
    except TypeError:  # a key that is not a string, an integer beyond 64 bits
        return None
    return out if out.isascii() and b"\x7f" not in out else None


def canonical(body: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: ``json.dumps(body, sort_keys=True, separators=(",", ":"),
    default=str)``, ASCII with ``\\uXXXX`` escapes. A body of plain strings, integers, booleans and
    nulls (and lists of them) is written by orjson, whose output is then the same bytes when it
    is ASCII without DEL; anything else (floats, nested objects, other types) by ``json``."""
    out = _fast(body)
    return out if out is not None else _ENCODER.encode(body).encode()


def link(prev: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(prev.encode() + canonical(body)).hexdigest()


class Entry(NamedTuple):
    """One entry. ``person`` is the stored ``person_id`` column the person's own view reads; it
    must equal ``body["person"]``, which the hash covers. (A named tuple: verification makes one
    per entry.)"""

    seq: int
    prev: str
    hash: str
    body: dict[str, Any]
    person: Any = _NO_COLUMN


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that entry ``seq`` had hash ``head``. Checkpoints are numbered from 1,
    and each names the digest of the one before (``prev``), so none can be removed unseen."""

    seq: int
    head: str
    number: int = 1
    prev: str = GENESIS
    at: str = ""

    def message(self) -> bytes:
        """The exact bytes signed (Ed25519)."""
        return f"civicmoments-access-log-checkpoint:2:{self.number}:{self.seq}:{self.head}:{self.prev}:{self.at}".encode()

    def digest(self) -> str:
        return hashlib.sha256(self.message()).hexdigest()


def chain(prev: str, first_seq: int, bodies: Iterable[dict[str, Any]]) -> list[Entry]:
    """The entries that follow ``prev``, numbered from ``first_seq``."""
    bodies = list(bodies)
    hashes, _ = seal(prev, bodies)
    return [Entry(first_seq + i, before, h, body)
            for i, (before, h, body) in enumerate(zip([prev, *hashes[:-1]], hashes, bodies, strict=True))]


class _Like(NamedTuple):
    """A body orjson wrote, for writing the bodies after it that differ from it only in their
    person: its keys and values (the person's value as None), where the person is among them,
    and its bytes before and after the person's value."""

    keys: tuple[str, ...]
    values: list[Any]
    at: int
    before: bytes
    after: bytes


_PERSON = b'"person":'


def _pattern(body: dict[str, Any], text: bytes) -> _Like | None:
    """``body``'s bytes ``text`` cut around its person's value, or None when it has no person
    string or its key's bytes occur more than once (a key such as ``'a"person'``)."""
    person = body.get("person")
    if type(person) is not str or text.count(_PERSON) != 1:
        return None
    value = orjson.dumps(person)
    cut = text.index(_PERSON) + len(_PERSON)
    if text[cut : cut + len(value)] != value:
        return None
    keys = tuple(body)
    values = list(body.values())
    at = keys.index("person")
    values[at] = None
    return _Like(keys, values, at, text[:cut], text[cut + len(value) :])


class Stamped(dict):
    """An entry's body made from a ``template`` body for one person (``Stamped.of``): the
    template's keys and values with ``person`` set. ``seal`` writes a run of bodies stamped from
    one template from that template's bytes, changing only the person's JSON, without comparing
    each body's values again. Not to be changed once made."""

    __slots__ = ("template",)

    @classmethod
    def of(cls, template: dict[str, Any], person: Any) -> Stamped:
        body = cls(template)
        body["person"] = person
        body.template = template
        return body


def _person_in(person: Any, like: _Like) -> bytes | None:
    """``like``'s bytes with ``person`` (a string whose JSON is ASCII without DEL) as the person's
    value; else None."""
    if type(person) is not str:
        return None
    value = orjson.dumps(person)
    if not value.isascii() or b"\x7f" in value:
        return None
    return like.before + value + like.after


def _alike(body: dict[str, Any], like: _Like) -> bytes | None:
    """``canonical(body)`` from ``like``'s bytes when ``body`` has the very same key and value
    objects, in the same order, but for a person that is a string; else None. (The same
    objects are written the same way, so only the person's JSON changes: a batch's entries
    made from one entry and each person are written once, not once each.)"""
    if len(body) != len(like.keys) or not all(map(is_, body, like.keys)):
        return None
    values = list(body.values())
    person = values[like.at]
    if type(person) is not str:
        return None
    values[like.at] = None
    if not all(map(is_, values, like.values)):
        return None
    return _person_in(person, like)


def seal(prev: str, bodies: Sequence[dict[str, Any]]) -> tuple[list[str], list[str | None]]:
    """The hashes of the entries that follow ``prev``, computed in one pass, and for each the
    text its hash covers when it is also the body's JSON as orjson writes it (sorted keys; a
    store may keep it as the body), else None. Entry ``i`` follows ``hashes[i - 1]``.

    A body that differs from the one before only in its person (the same key and value
    objects otherwise, as a batch's entries made from one template are) reuses that one's
    bytes around the person's JSON; the bytes are the same as ``canonical`` gives. A body
    ``Stamped`` from the same template as the one before is taken to be alike without the
    comparison. (The texts are kept as ``str``: holding on to orjson's own buffers costs more
    than the copy.)"""
    hashes: list[str] = []
    texts: list[str | None] = []
    sha256, encode = hashlib.sha256, _ENCODER.encode
    like: _Like | None = None
    source = None  # the template ``like`` was made from, when it was made from a Stamped body
    for body in bodies:
        if like is None:
            raw = None
        elif source is not None and type(body) is Stamped and body.template is source:
            raw = _person_in(body["person"], like)
        else:
            raw = _alike(body, like)
        if raw is None:
            raw = _fast(body)
            like = _pattern(body, raw) if raw is not None else None
            source = body.template if like is not None and type(body) is Stamped else None
        digest = sha256(prev.encode())
        if raw is None:
            digest.update(encode(body).encode())
            texts.append(None)
        else:
            digest.update(raw)
            texts.append(raw.decode())
        prev = digest.hexdigest()
        hashes.append(prev)
    return hashes, texts


def next_checkpoint(last: Checkpoint | None, seq: int, head: str, at: str) -> Checkpoint:
    return Checkpoint(seq, head, (last.number + 1) if last else 1, last.digest() if last else GENESIS, at)


def verify_checkpoints(checkpoints: Sequence[Checkpoint]) -> list[str]:
    """The checkpoints must be numbered 1, 2, 3 … with each naming the one before it."""
    problems: list[str] = []
    prev: Checkpoint | None = None
    for cp in sorted(checkpoints, key=lambda c: c.number):
        expected = prev.number + 1 if prev else 1
        if cp.number > expected:
            gap = f"{expected}" if cp.number == expected + 1 else f"{expected} to {cp.number - 1}"
            problems.append(f"checkpoint {gap} is missing: deleted")
        elif prev is not None and cp.prev != prev.digest():
            problems.append(f"checkpoint {cp.number} does not follow checkpoint {prev.number}: "
                            "the checkpoints were rewritten")
        if prev is not None and cp.seq < prev.seq:
            problems.append(f"checkpoint {cp.number} is at entry {cp.seq}, before checkpoint {prev.number}'s "
                            f"entry {prev.seq}")
        prev = cp
    return problems


def verify(entries: Iterable[Entry], checkpoints: Sequence[Checkpoint] | Checkpoint | None) -> list[str]:
    """Every problem found, in order; an empty list means the log is intact."""
    if isinstance(checkpoints, Checkpoint):
        checkpoints = [checkpoints]
    heads = {cp.seq: cp for cp in checkpoints or ()}
    newest = max(heads.values(), key=lambda c: c.seq) if heads else None
    problems: list[str] = []
    prev_hash, expected_seq, last = GENESIS, 1, None
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
        if e.person is not _NO_COLUMN and e.person != e.body.get("person"):
            problems.append(f"entry {e.seq}'s person_id column does not match its hashed content: "
                            "it was re-pointed to another person")
        cp = heads.get(e.seq)
        if cp is not None and e.hash != cp.head:
            problems.append(f"entry {e.seq} does not match the signed checkpoint {cp.number}: "
                            "the chain was rewritten")
        prev_hash, expected_seq, last = e.hash, e.seq + 1, e
    if newest is not None and (last is None or last.seq < newest.seq):
        end = last.seq if last else 0
        problems.append(f"the log ends at entry {end}, but checkpoint {newest.number} was signed at entry "
                        f"{newest.seq}: it was cut short")
    return problems
