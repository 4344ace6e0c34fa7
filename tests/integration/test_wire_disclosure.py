"""What reaches a partner, read at the wire.

A real HTTP server stands in for the partner and keeps every request body as it arrived.
Over random facts, agreements and journeys (trigger data and earlier results full of
values of their own), the captured bytes hold only the agreed attribute values and the
pseudonym: never the platform's person id, an identifier, an unagreed value or anything
from the journey; and the access-log entry for each hand-over carries the SHA-256 of
exactly those bytes. A build whose body builder adds one journey field fails the check.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicmoments.domain import disclosure
from civicmoments.domain.clock import FakeClock
from civicmoments.engine.ports import Effect

from ..conftest import make_app

PURPOSE = "employment-support"
STRINGS = ["occupation", "skills", "home_area", "aspirations", "postcode", "given_name", "town", "employer"]
INTEGERS = ["travel_radius_miles", "annual_earnings_pence"]
ATTRIBUTES = STRINGS + INTEGERS


class Capture:
    """A partner endpoint that keeps each request's raw body and answers ``{}``."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                capture.bodies.append(body)
                capture.headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"received": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/profiles"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wire(db_url):
    capture = Capture()
    clock = FakeClock()
    app = make_app(db_url, clock, settings={"partner_urls": {"Partner": capture.url}})
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*", "people:write"])
    partner, _ = app.organisations.add("Partner", ["https://partner.example/*"], [])
    yield app, capture, clock, hmrc, partner
    app.store.close()
    capture.close()


def token(prefix: str = "V") -> st.SearchStrategy[str]:
    """A value that cannot occur by chance in a body: facts start with V, journey values with J."""
    return st.integers(0, 2**64 - 1).map(lambda n: f"{prefix}{n:016x}")


@st.composite
def cases(draw):
    held = draw(st.sets(st.sampled_from(ATTRIBUTES), min_size=1))
    facts = {a: (10**9 + INTEGERS.index(a) * 10**8 + draw(st.integers(0, 10**7)) if a in INTEGERS
                 else draw(token(f"V{a.upper()}"))) for a in held}  # no two facts share a value
    agreed = draw(st.sets(st.sampled_from(ATTRIBUTES), min_size=1))
    requested = draw(st.lists(st.sampled_from(ATTRIBUTES), min_size=1, unique=True))
    journey = {  # what the journey holds: the trigger, earlier results and personalisation
        "event": {"last_day": "2026-01-02", "age": draw(st.integers(16, 90)), "reason": draw(token("J"))},
        "results": {"assess": {"outputs": {"weekly": draw(st.integers(10**11, 10**12))}, "note": draw(token("J"))},
                    "profile": {"date_of_birth": "1984-05-02", "secret": draw(token())}},
        "personalisation": {"name": draw(token("J"))},
    }
    return facts, agreed, requested, journey


def share_once(app, clock, hmrc, case) -> tuple[str, str, dict, set, set]:
    facts, agreed, requested, journey = case
    ni = f"AB{secrets.randbelow(10**6):06d}C"
    person = app.registry.add_person({"ni_number": ni})
    app.registry.record(hmrc, person, [{"attribute": a, "value": v} for a, v in facts.items()])
    app.consents.give(person, PURPOSE)
    clock.advance(timedelta(seconds=1))
    app.agreements.put("partner-support", "Partner", PURPOSE, sorted(agreed))
    effect = Effect(key=f"{secrets.token_hex(8)}:match", journey=secrets.token_hex(8), person=person, step="match",
                    kind="share", payload={"moment": "job-loss", "spec": {"with": "Partner", "purpose": PURPOSE,
                                                                           "attributes": requested}, **journey},
                    max_attempts=1, backoff_seconds=1, id=1, attempts=1)
    app.effects.providers["share"].perform([effect])
    return person, ni, journey, set(requested) & set(agreed) & set(facts), set(requested) - set(agreed)


def check(app, capture, clock, hmrc, case) -> None:
    """One share at the wire: the property."""
    facts = case[0]
    before = len(capture.bodies)
    person, ni, journey, expected, withheld = share_once(app, clock, hmrc, case)
    arrived = capture.bodies[before:]
    if not (set(case[2]) & set(case[1])):  # nothing requested is agreed: refused, nothing leaves
        assert arrived == []
        return
    (raw,) = arrived
    body = json.loads(raw)
    org = app.organisations.store.organisation("Partner")
    pseudonym = app.gate.pseudonymiser.pseudonym(org["id"], PURPOSE, person)
    assert body["subject"] == pseudonym and body["subject_type"] == "pseudonym"
    assert body["data"] == {a: facts[a] for a in expected}
    assert set(body) == {"subject", "subject_type", "purpose", "agreement", "data", "reference"}
    text = raw.decode()
    assert person not in text and ni not in text
    for a, v in facts.items():
        if a not in expected:
            assert str(v) not in text, f"the unagreed {a} left"

    def leaves(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from leaves(v)
        elif isinstance(value, str) and value.startswith("J") or isinstance(value, int) and value > 10**11:
            yield str(value)

    for v in leaves(journey):
        assert v not in text, "a journey value left"
    assert capture.headers[before]["Idempotency-Key"] == body["reference"]
    entries = [e for e in app.registry.store.log_for(person) if e.get("outcome") == "disclosed"]
    (entry,) = entries
    assert entry["body_sha256"] == hashlib.sha256(raw).hexdigest()
    assert sorted(entry["attributes"]) == sorted(expected) == sorted(body["data"])
    assert set(entry["withheld"]) == withheld  # a requested attribute the agreement lacks is named


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(case=cases())
def test_only_agreed_values_and_the_pseudonym_reach_the_partner(wire, case):
    app, capture, clock, hmrc, _ = wire
    check(app, capture, clock, hmrc, case)


def test_a_body_builder_that_adds_one_journey_field_fails_the_check(wire, monkeypatch):
    app, capture, clock, hmrc, _ = wire
    case = ({"occupation": "VOCCUPATION00000001", "postcode": "VPOSTCODE000000001"}, {"occupation"},
            ["occupation", "postcode"], {"event": {"reason": "JREASON00000000001"}, "results": {}})
    check(app, capture, clock, hmrc, case)  # the real build passes

    real = disclosure.share_body

    def leaky(subject, identified, purpose, agreement, version, data, reference):
        return real(subject, identified, purpose, agreement, version, {**data, "reason": "JREASON00000000001"},
                    reference)

    monkeypatch.setattr("civicmoments.engine.gate.share_body", leaky)
    with pytest.raises(AssertionError):
        check(app, capture, clock, hmrc, case)
