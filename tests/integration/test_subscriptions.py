"""Subscriptions: the contract on SQLite and PostgreSQL, and what a subscriber receives at the wire.

A real HTTP server stands in for the subscriber and keeps every request as it arrived. The
events come from the inbox as the platform took them in; the relay is the one a worker runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from civicmoments.domain.clock import FakeClock
from civicmoments.domain.subscriptions import MAX_ATTEMPTS
from civicmoments.engine.errors import NotFoundError, Problem
from civicmoments.engine.steps import PLATFORM

from ..conftest import make_app

PURPOSE = "employment-support"
TYPE = "civic.eligibility.changed"


class Subscriber:
    """A webhook endpoint that keeps each request and answers with the statuses planned, then 204."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.plan: list[int] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                me.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = me.plan.pop(0) if me.plan else 204
                payload = b'{"title": "no such thing here"}' if status >= 400 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/civic"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(db_url):
    clock = FakeClock()
    app = make_app(db_url, clock, settings={"demo_mode": True, "portal": False})
    council, _ = app.organisations.add("Council", ["https://council.example/*"], [])
    other, _ = app.organisations.add("Other", ["https://other.example/*"], [])
    app.agreements.put("council-support", "Council", PURPOSE, ["postcode", "occupation"], events=[TYPE])
    hook = Subscriber()
    yield app, clock, council, other, hook
    hook.close()
    app.store.close()


def person(app, consent: bool = True) -> str:
    p = app.registry.add_person()
    app.registry.record_many(PLATFORM, [(p, [{"attribute": "postcode", "value": "CF10 1AA", "basis": "register"}])])
    if consent:
        app.consents.give(p, PURPOSE)
    return p


def publish(app, subject: str, **data) -> None:
    app.store.publish(TYPE, subject, {"date": "2026-01-05", **data}, app.clock.now())
    for _ in range(20):  # the platform takes the events in
        if not app.worker.run_once():
            break


def test_the_contract(world):
    app, clock, council, other, hook = world
    subs = app.subscriptions
    s = subs.create(council, [TYPE], "council-support", "https://council.example/hooks")
    assert [x.id for x in subs.list(council)] == [s.id] and subs.list(other) == []
    assert subs.get(s.id, council).sink == "https://council.example/hooks"
    assert s.as_dict()["filters"][0] == {"any": [{"exact": {"type": TYPE}}]}
    with pytest.raises(NotFoundError):  # another organisation's subscription is not there at all
        subs.get(s.id, other)
    with pytest.raises(Problem) as refused:  # no agreement of its own
        subs.create(other, [TYPE], "council-support", "https://other.example/hooks")
    assert refused.value.status == 403
    with pytest.raises(Problem) as uncovered:  # the agreement does not cover the type
        subs.create(council, ["civic.consent.given"], "council-support", "https://council.example/hooks")
    assert uncovered.value.status == 403 and "civic.consent.given" in uncovered.value.detail
    with pytest.raises(Problem) as unknown:
        subs.create(council, ["uk.gov.nothing.like-this"], "council-support", "https://council.example/hooks")
    assert unknown.value.status == 422 and unknown.value.errors[0]["field"] == "types"
    with pytest.raises(Problem) as no_nats:
        subs.create(council, [TYPE], "council-support", protocol="NATS")
    assert no_nats.value.status == 422
    subs.delete(s.id, council)
    assert subs.list(council) == []
    with pytest.raises(NotFoundError):
        subs.delete(s.id, council)


def test_a_webhook_outside_demo_mode_must_be_https(db_url):
    app = make_app(db_url, FakeClock())
    council, _ = app.organisations.add("Council", ["https://council.example/*"], [])
    app.agreements.put("council-support", "Council", PURPOSE, ["postcode"], events=["civic.*"])
    with pytest.raises(Problem) as plain:
        app.subscriptions.create(council, [TYPE], "council-support", "http://council.example/hooks")
    assert plain.value.status == 422 and plain.value.errors[0]["field"] == "sink"
    assert app.subscriptions.create(council, ["civic.eligibility.*"], "council-support",
                                    "https://council.example/hooks").types == ("civic.eligibility.*",)
    app.store.close()


def test_the_subscriber_receives_exactly_the_agreed_pseudonymised_data(world):
    app, clock, council, other, hook = world
    s = app.subscriptions.create(council, [TYPE], "council-support", hook.url)
    told, not_told = person(app), person(app, consent=False)
    publish(app, told, postcode="CF10 1AA", service="jsa", eligible=True)
    publish(app, not_told, postcode="SA1 1AA", service="jsa", eligible=True)
    app.relay.run_once()
    (headers, body) = hook.requests[0]
    assert len(hook.requests) == 1, "an event the subscriber may not see is never delivered"
    pseudonym = app.gate.pseudonymiser.pseudonym(council.id, PURPOSE, told)
    assert headers["ce-subject"] == pseudonym and headers["ce-type"] == TYPE and headers["ce-specversion"] == "1.0"
    assert headers["ce-civicsubscription"] == s.id and headers["content-type"] == "application/json"
    assert json.loads(body) == {"postcode": "CF10 1AA"}  # the event's other values are not agreed
    assert told not in body.decode() and told not in json.dumps(headers)
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(app.audit.public_key()))
    key.verify(base64.b64decode(headers["x-civic-signature"]), headers["x-civic-timestamp"].encode() + b"." + body)
    (entry,) = [e for e in app.registry.store.log_for(told) if e.get("channel") == "subscription"]
    assert entry["body_sha256"] == hashlib.sha256(body).hexdigest() and entry["recipient"] == council.id
    assert entry["attributes"] == ["postcode"] and sorted(entry["withheld"]) == ["date", "eligible", "service"]
    refused = [e for e in app.registry.store.log_for(not_told) if e.get("channel") == "subscription"]
    assert [e["outcome"] for e in refused] == ["refused"]
    assert app.subscriptions.counts(s.id) == {"delivered": 1, "withheld": 1}
    assert app.subscriptions.dead_letters(s.id, council) == []  # a withheld event is not hinted at
    app.relay.run_once()
    assert len(hook.requests) == 1, "the same event is delivered once per subscription"


def test_retries_then_delivery_a_4xx_is_dead_at_once_and_replay_delivers_again(world):
    app, clock, council, other, hook = world
    s = app.subscriptions.create(council, [TYPE], "council-support", hook.url)
    p = person(app)
    hook.plan = [503, 500]
    publish(app, p, postcode="CF10 1AA")
    app.relay.run_once()
    app.relay.run_once()  # not yet due: the backoff holds it
    assert len(hook.requests) == 1
    clock.advance(timedelta(seconds=2))
    app.relay.run_once()
    clock.advance(timedelta(seconds=6))
    app.relay.run_once()
    assert len(hook.requests) == 3 and app.subscriptions.counts(s.id) == {"delivered": 1}
    assert len({h["ce-id"] for h, _ in hook.requests}) == 1, "every try carries the same event id"

    hook.plan = [410]
    publish(app, p, postcode="CF10 2BB")
    app.relay.run_once()
    (dead,) = app.subscriptions.dead_letters(s.id, council)
    assert dead["attempts"] == 1 and "HTTP 410" in dead["last_error"] and "no such thing" in dead["last_error"]

    before = len(hook.requests)
    assert app.subscriptions.replay(s.id, clock.now() - timedelta(hours=1), council) == 2
    app.relay.run_once()
    assert len(hook.requests) == before + 2
    assert app.subscriptions.counts(s.id) == {"delivered": 2}


def test_a_subscriber_that_never_answers_well_is_dead_lettered_after_the_last_try(world):
    app, clock, council, other, hook = world
    s = app.subscriptions.create(council, [TYPE], "council-support", hook.url)
    hook.plan = [502] * MAX_ATTEMPTS
    publish(app, person(app), postcode="CF10 1AA")
    for _ in range(MAX_ATTEMPTS):
        app.relay.run_once()
        clock.advance(timedelta(hours=2))
    assert len(hook.requests) == MAX_ATTEMPTS
    (dead,) = app.subscriptions.dead_letters(s.id, council)
    assert dead["attempts"] == MAX_ATTEMPTS and "HTTP 502" in dead["last_error"]


def test_a_deleted_subscription_delivers_nothing_more(world):
    app, clock, council, other, hook = world
    s = app.subscriptions.create(council, [TYPE], "council-support", hook.url)
    hook.plan = [503]
    publish(app, person(app), postcode="CF10 1AA")
    app.relay.run_once()
    app.subscriptions.delete(s.id, council)
    clock.advance(timedelta(minutes=5))
    app.relay.run_once()
    assert len(hook.requests) == 1


def test_the_api_speaks_problems_and_shows_each_organisation_only_its_own(sqlite_url):
    from fastapi.testclient import TestClient

    from civicmoments.api.app import create_app

    app = make_app(sqlite_url, FakeClock())
    council, council_token = app.organisations.add("Council", ["https://council.example/*"], [])
    other, other_token = app.organisations.add("Other", ["https://other.example/*"], [])
    app.agreements.put("council-support", "Council", PURPOSE, ["postcode"], events=[TYPE])
    as_council = {"Authorization": f"Bearer {council_token}"}
    with TestClient(create_app(app)) as api:
        made = api.post("/v1/subscriptions", headers=as_council,
                        json={"types": [TYPE], "agreement": "council-support", "sink": "https://council.example/h"})
        assert made.status_code == 201 and made.headers["location"] == f"/v1/subscriptions/{made.json()['id']}"
        plain = api.post("/v1/subscriptions", headers=as_council,
                         json={"types": [TYPE], "agreement": "council-support", "sink": "http://council.example/h"})
        assert plain.status_code == 422 and plain.headers["content-type"] == "application/problem+json"
        assert plain.json()["errors"][0]["field"] == "sink"
        theirs = {"Authorization": f"Bearer {other_token}"}
        refused = api.post("/v1/subscriptions", headers=theirs,
                           json={"types": [TYPE], "agreement": "council-support", "sink": "https://other.example/h"})
        assert refused.status_code == 403 and "no agreement" in refused.json()["detail"]
        assert api.get(f"/v1/subscriptions/{made.json()['id']}", headers=theirs).status_code == 404
        assert api.get("/v1/subscriptions", headers=theirs).json() == []
        assert [s["id"] for s in api.get("/v1/subscriptions", headers=as_council).json()] == [made.json()["id"]]
        bad_time = api.post(f"/v1/subscriptions/{made.json()['id']}/replay", headers=as_council,
                            json={"since": "yesterday"})
        assert bad_time.status_code == 422
        assert api.post(f"/v1/subscriptions/{made.json()['id']}/replay", headers=as_council,
                        json={"since": "2026-01-01T00:00:00Z"}).json()["queued"] == 0
        assert api.delete(f"/v1/subscriptions/{made.json()['id']}", headers=as_council).status_code == 204
        assert api.get("/v1/subscriptions", headers=as_council).json() == []
    app.store.close()


def test_a_later_subscription_hears_only_what_came_after_it_and_an_earlier_one_everything(world):
    app, clock, council, other, hook = world
    early = app.subscriptions.create(council, [TYPE], "council-support", hook.url + "/early")
    p = person(app)
    publish(app, p, postcode="CF10 1AA")  # before the second subscription
    late = app.subscriptions.create(council, [TYPE], "council-support", hook.url + "/late")
    publish(app, p, postcode="CF10 2BB")
    app.relay.run_once()
    assert app.subscriptions.counts(early.id) == {"delivered": 2}
    assert app.subscriptions.counts(late.id) == {"delivered": 1}
    assert sorted(json.loads(b)["postcode"] for _, b in hook.requests) == ["CF10 1AA", "CF10 2BB", "CF10 2BB"]
