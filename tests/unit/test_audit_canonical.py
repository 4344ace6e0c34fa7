"""The access log hashes the same bytes however a body is written: the fast path for plain
bodies gives exactly what ``json.dumps(sort_keys=True, separators=(",", ":"), default=str)``
gives, so entries hashed before and after it verify alike."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from civicmoments.domain.audit import GENESIS, Checkpoint, Stamped, canonical, chain, link, seal, verify


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


def sealed_as_one_by_one(bodies) -> None:
    hashes, texts = seal(GENESIS, bodies)
    prev = GENESIS
    for body, h, text in zip(bodies, hashes, texts, strict=True):
        assert h == link(prev, body) == hashlib.sha256(prev.encode() + reference(body)).hexdigest()
        assert text is None or text.encode() == reference(body)
        prev = h


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), values, max_size=6), st.lists(st.one_of(st.text(), st.integers(), st.none()),
                                                                 max_size=6))
def test_a_batch_made_from_one_body_and_each_person_is_written_as_each_body_alone(template, persons):
    bodies = []
    for person in persons:
        body = template.copy()
        body["person"] = person
        bodies.append(body)
    sealed_as_one_by_one(bodies)


def test_bodies_that_only_look_alike_are_each_written_for_themselves():
    base = {"at": "t", "attributes": [], "n": 1, "outcome": "answered", "person": "p0"}
    bodies = [base, {**base, "person": "p1"},  # the same objects: written from the one before
              {**base, "person": "p2", "n": True},  # equal to 1, but another value
              {**base, "person": "p3", "attributes": []},  # an equal list, another object
              {"n": 1, "at": "t", "attributes": base["attributes"], "outcome": "answered", "person": "p4"},
              {**base, "person": "é\u2028\"\\"}, {**base, "person": "\x7f"}, {**base, "person": 5},
              {**base, 'a"person': "p6", "person": "p6"}, {**base, 'a"person': "p6", "person": "p7"},
              {**base, "extra": None, "person": "p8"}]
    sealed_as_one_by_one(bodies)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.one_of(st.text(), st.integers(), st.none())), max_size=12),
       st.lists(st.dictionaries(st.text(), values, max_size=5), min_size=3, max_size=3))
def test_bodies_stamped_from_templates_are_written_as_plain_bodies_would_be(runs, templates):
    """Runs of bodies stamped from a few templates, in any order and with any person: each is
    hashed and kept as the plain body with that person would be."""
    bodies = [Stamped.of(templates[t], person) for t, person in runs]
    sealed_as_one_by_one(bodies)
    plain = [dict(templates[t], person=person) for t, person in runs]
    assert seal(GENESIS, bodies) == seal(GENESIS, plain)
