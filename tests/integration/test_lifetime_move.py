"""Moving home over HTTP, read at the wire: each agency with an agreement to be told receives the
new address once through the gate, except those the person left out; a confidentiality marker
limits it to the council; a postcode that breaks the rules is refused naming the field."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known

MOVE = "civic.person.address-changed"
CE = {"Content-Type": "application/cloudevents+json"}
AGENCIES = {"Leeds City Council": "council", "Electoral Registration Office": "electoral",
            "DVLA": "dvla", "NHS GP Registration": "gp"}


class Agencies:
    """One real HTTP server standing in for every agency: it keeps each body by the path it came to."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict]] = {}
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.setdefault(self.path.strip("/"), []).append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"received": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(db_url, clock):
    agencies = Agencies()
    app = make_app(db_url, clock, settings={"partner_urls": {n: f"{agencies.url}/{p}" for n, p in AGENCIES.items()}})
    _, token = app.organisations.add("Portal", ["civic://portal"], ["civic.*"])
    for name in AGENCIES:
        app.organisations.add(name, [f"https://{AGENCIES[name]}.example/*"], [])
        app.agreements.put(f"{AGENCIES[name]}-address", name, "address-update",
                           ["address_line_1", "town", "postcode"], "identified")
    yield TestClient(create_app(app)), app, {"Authorization": f"Bearer {token}", **CE}, agencies
    app.store.close()
    agencies.close()


def move(person: str, ident: str = "M-1", postcode: str = "LS6 2AB", **extra) -> dict:
    return {"specversion": "1.0", "type": MOVE, "source": "civic://portal", "id": ident, "subject": person,
            "data": {"address_line_1": "4 Hyde Park Road", "town": "Leeds", "postcode": postcode,
                     "moved_on": "2026-01-06", **extra}}


def resident(app, **facts) -> str:
    """Eve, at her old address since before the move (the clock moves on a day)."""
    eve = known(app, tier="gold", given_name="Eve", family_name="Evans", email="eve@example.org",
                address_line_1="1 Old Lane", town="Leeds", postcode="LS1 1AA", **facts)
    app.clock.advance(timedelta(days=1))
    return eve


def told(app, person) -> str:
    return next(m for m in app.messenger.of_person(person, reveal=True) if m["template"] == "move-told")["content"]


def test_every_agency_with_an_agreement_receives_the_new_address_once(world):
    client, app, portal, agencies = world
    eve = resident(app)
    for _ in range(2):  # a resent move tells no one twice
        r = client.post("/v1/events", json=move(eve), headers=portal)
        assert r.status_code in (200, 202), r.text
    app.worker.drain()
    assert sorted(agencies.received) == ["council", "dvla", "electoral", "gp"]
    for bodies in agencies.received.values():
        (body,) = bodies
        assert "4 Hyde Park Road" in json.dumps(body) and "LS6 2AB" in json.dumps(body)
        assert "Eve" not in json.dumps(body) and "1 Old Lane" not in json.dumps(body)  # only the agreed address
    assert app.registry.profile(eve)["postcode"].value == "LS6 2AB"
    letter = told(app, eve)
    assert "the council" in letter["long"] and "DVLA" in letter["long"] and "We told no one else" in letter["long"]


def test_an_agency_the_person_leaves_out_is_not_told(world):
    client, app, portal, agencies = world
    eve = resident(app)
    client.post("/v1/events", json=move(eve, leave_out=["driving-licence", "gp"]), headers=portal)
    app.worker.drain()
    assert sorted(agencies.received) == ["council", "electoral"]
    assert "DVLA" not in told(app, eve)["long"]


def test_a_confidentiality_marker_limits_telling_to_what_the_law_requires(world):
    client, app, portal, agencies = world
    eve = resident(app, confidentiality_marker=True)
    client.post("/v1/events", json=move(eve), headers=portal)
    app.worker.drain()
    assert sorted(agencies.received) == ["council"]
    assert "confidential" not in json.dumps(agencies.received) and "marker" not in json.dumps(agencies.received)


def test_a_postcode_that_breaks_the_rules_is_refused_naming_the_field(world):
    client, app, portal, agencies = world
    eve = resident(app)
    r = client.post("/v1/events", json=move(eve, postcode="LS6 2A"), headers=portal)
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["/data/postcode"]
    app.worker.drain()
    assert agencies.received == {} and app.registry.profile(eve)["postcode"].value == "LS1 1AA"
