"""A withdrawal fences what is in flight: consent is re-checked immediately before each body
leaves, and a withdrawal does not return while a send for that person and purpose is in flight."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from civicmoments.engine.ports import Effect

from ..conftest import make_app

PURPOSE = "employment-support"


class SlowPartner:
    """Takes ``delay`` seconds to answer; records when each body arrived and when it answered."""

    def __init__(self, delay: float) -> None:
        self.arrived = threading.Event()
        self.bodies: list[bytes] = []
        self.answered_at: list[float] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                owner.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                owner.arrived.set()
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")
                owner.answered_at.append(time.monotonic())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/profiles"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def world(db_url, clock):
    partner = SlowPartner(1.5)
    app = make_app(db_url, clock, settings={"partner_urls": {"Partner": partner.url}})
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    app.organisations.add("Partner", ["https://partner.example/*"], [])
    app.agreements.put("p", "Partner", PURPOSE, ["occupation"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "occupation", "value": "welder"}])
    app.consents.give(person, PURPOSE)
    yield app, partner, person
    app.store.close()
    partner.server.shutdown()


def share(person: str) -> Effect:
    return Effect(key="j1:match", journey="j1", person=person, step="match", kind="share",
                  payload={"spec": {"with": "Partner", "purpose": PURPOSE, "attributes": ["occupation"]}},
                  max_attempts=1, backoff_seconds=1, id=1, attempts=1)


def test_a_withdrawal_returns_only_after_the_send_in_flight_has_finished(world):
    app, partner, person = world
    sender = threading.Thread(target=lambda: app.effects.providers["share"].perform([share(person)]))
    sender.start()
    assert partner.arrived.wait(10)  # the body is on the wire now
    app.consents.withdraw(person, PURPOSE, "portal")
    returned = time.monotonic()
    sender.join(10)
    assert partner.answered_at and returned >= partner.answered_at[0]  # nothing still going after the 200


def test_consent_is_checked_again_immediately_before_the_body_leaves(world):
    app, partner, person = world
    provider = app.effects.providers["share"]
    made = app.gate.parcels(app.organisations.store.organisation("Partner")["id"], "Partner", PURPOSE, [person],
                            ["occupation"], ["j2:match"])  # authorised while consent was given,
    app.consents.withdraw(person, PURPOSE, "portal")  # then withdrawn before the bytes go
    (result,) = app.outbound.hand_over(made, provider.transport)
    assert result.verdict.value == "fail" and "stopped before sending" in result.error
    assert partner.bodies == []
    (entry,) = [e for e in app.registry.store.log_for(person) if e["channel"] == "share"]
    assert (entry["outcome"], entry["rule"]) == ("refused", "stopped-before-sending")


def test_a_batch_is_checked_together_and_only_the_withdrawn_person_is_held_back(world):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    app, partner, first = world
    dwp, _ = app.organisations.add("DWP", ["https://dwp.example/*"], ["facts:*"])
    people = [first]
    for job in ("baker", "nurse"):
        person = app.registry.add_person()
        app.registry.record(dwp, person, [{"attribute": "occupation", "value": job}])
        app.consents.give(person, PURPOSE)
        people.append(person)
    made = app.gate.parcels(app.organisations.store.organisation("Partner")["id"], "Partner", PURPOSE, people,
                            ["occupation"], [f"j{i}:match" for i in range(3)])
    app.consents.withdraw(people[1], PURPOSE, "portal")  # after the parcels were made, before they go
    reads = []
    listen = lambda *a: reads.append(a[2]) if "FROM agreements" in a[2] else None  # noqa: E731
    event.listen(Engine, "before_cursor_execute", listen)
    try:
        results = app.outbound.hand_over(made, app.effects.providers["share"].transport)
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
    assert [r.verdict.value for r in results] == ["done", "fail", "done"]
    assert len(partner.bodies) == 2  # what the partner's server received
    assert len(reads) == 1  # the agreement is read once for the batch, not once per body
