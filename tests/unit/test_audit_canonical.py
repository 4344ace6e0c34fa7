"""The access log hashes the same bytes however a body is written: the fast path for plain
bodies gives exactly what ``json.dumps(sort_keys=True, separators=(",", ":"), default=str)``
gives, so entries hashed before and after it verify alike."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from civicmoments.domain.audit import GENESIS, Checkpoint, canonical, chain, link, verify


def reference(body) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


plain = st.one_of(st.text(), st.integers(), st.integers(min_value=2**63 - 5, max_value=2**70), st.booleans(),
                  st.none(), st.floats(allow_nan=True), st.datetimes(timezones=st.just(timezone.utc)))
values = st.recursive(plain, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                      max_leaves=8)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), values, max_size=8))
def test_canonical_is_json_dumps_byte_for_byte(body):
    assert canonical(body) == reference(body)


def test_every_ascii_and_some_other_characters_are_escaped_as_json_does():
    text = "".join(chr(c) for c in range(128)) + "é—💷\u2028\ufeff"
    for body in ({"reason": text}, {text: 1}, {"attributes": [text, 7, None, True]}):
        assert canonical(body) == reference(body)
    assert canonical({"n": 2**64}) == reference({"n": 2**64})
    assert canonical({"at": datetime(2026, 1, 1, tzinfo=timezone.utc)}) == reference(
        {"at": datetime(2026, 1, 1, tzinfo=timezone.utc)})


def test_a_chain_written_with_the_fast_path_verifies_against_the_reference_hashes():
    bodies = [{"person": f"p{i}", "outcome": "answered", "attributes": [], "n": i} for i in range(50)]
    entries = chain(GENESIS, 1, bodies)
    prev = GENESIS
    for e in entries:
        assert e.hash == hashlib.sha256(prev.encode() + reference(e.body)).hexdigest()
        prev = e.hash
    assert link(GENESIS, bodies[0]) == entries[0].hash
    head = Checkpoint(entries[-1].seq, entries[-1].hash)
    assert verify(entries, head) == []
    tampered = list(entries)
    tampered[20] = entries[20]._replace(body={**entries[20].body, "outcome": "refused"})
    problems = verify(tampered, head)
    assert problems and "21" in problems[0]
