"""A family's lifetime end to end: a real ``civic serve``, the agencies as a real HTTP server, and
everything through the public API. A register office reports a birth to Ana and Ben; Ana accepts
Child Benefit with one click; she moves home and the agencies hear once; Ben dies, his journeys
end, the agencies are told, and Ana is offered Bereavement Support Payment at the higher rate."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from .conftest import CIVIC, civic_env, free_port, wait_for

pytestmark = pytest.mark.e2e
AGENCIES = {"Leeds City Council": "council", "Electoral Registration Office": "electoral", "DVLA": "dvla",
            "NHS GP Registration": "gp", "HMRC": "hmrc"}
CE = {"Content-Type": "application/cloudevents+json"}


class Wire:
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


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    wire, port = Wire(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = civic_env(tmp_path_factory.mktemp("lifetime"), CIVIC_PORT=str(port),
                    CIVIC_PARTNER_URLS=json.dumps({n: f"{wire.url}/{p}" for n, p in AGENCIES.items()}))

    def civic(*args: str) -> str:
        return subprocess.run([*CIVIC, *args], env=env, capture_output=True, text=True, check=True, timeout=120).stdout

    tokens = {}
    for name, source, scopes in [("Register Office", "https://gro.example/*", ["uk.gov.gro.*", "registrar"]),
                                 ("Portal", "civic://portal", ["civic.*", "messages:read", "messages:content",
                                                               "journeys:read"]),
                                 ("HMRC", "https://hmrc.example/*", ["people:write", "facts:*"])]:
        tokens[name] = json.loads(civic("orgs", "add", name, "--source", source,
                                        *[a for s in scopes for a in ("--scope", s)], "--json"))["token"]
    for name, path in AGENCIES.items():
        if name != "HMRC":
            civic("orgs", "add", name, "--source", f"https://{path}.example/*", "--scope", "receives:address")
            civic("agreements", "put", f"{path}-address", "--recipient", name, "--purpose", "address-update",
                  "--attribute", "address_line_1", "--attribute", "town", "--attribute", "postcode",
                  "--mode", "identified")
    for name in ("HMRC", "DVLA", "Leeds City Council"):
        civic("agreements", "put", f"{AGENCIES[name]}-death", "--recipient", name, "--purpose", "tell-us-once",
              "--attribute", "given_name", "--attribute", "family_name", "--mode", "identified")
    proc = subprocess.Popen([*CIVIC, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _up(url), timeout=90)
    yield url, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}, wire
    proc.terminate()
    proc.wait(timeout=20)
    wire.server.shutdown()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_a_familys_birth_move_and_bereavement(town):
    url, h, wire = town

    def person(**facts) -> str:
        pid = httpx.post(f"{url}/v1/people", json={}, headers=h["HMRC"]).json()["id"]
        r = httpx.post(f"{url}/v1/people/{pid}/facts", headers=h["HMRC"],
                       json=[{"attribute": k, "value": v, "basis": "register", "observed_at": "2025-01-01T00:00:00Z"}
                             for k, v in facts.items()])
        assert r.status_code in (200, 201), r.text
        return pid

    def messages(pid: str) -> dict[str, dict]:
        r = httpx.get(f"{url}/v1/people/{pid}/messages", params={"content": "true"}, headers=h["Portal"])
        return {m["template"]: m for m in r.json()}

    def send(org: str, **event) -> httpx.Response:
        return httpx.post(f"{url}/v1/events", headers={**h[org], **CE}, json={"specversion": "1.0", **event})

    ana = person(given_name="Ana", family_name="Booth", date_of_birth="1991-05-02", email="ana@example.org",
                 annual_earnings_pence=3_400_000, address_line_1="1 Old Lane", town="Leeds", postcode="LS1 1AA")
    ben = person(given_name="Ben", family_name="Booth", date_of_birth="1989-02-01", email="ben@example.org",
                 class1_contribution_years=12)
    r = send("Register Office", type="uk.gov.gro.birth-registered", source="https://gro.example/b", id="B-1",
             subject=ana, data={"registration": "B-1", "date_of_birth": "2026-11-27", "given_name": "Poppy",
                                "family_name": "Booth", "other_parent": ben})
    assert r.status_code == 202, r.text
    offer = wait_for(lambda: messages(ana).get("child-benefit-offer"), timeout=60)
    assert "£27.05 a week" in offer["content"]["long"]  # 2026/27, an only child
    send("Portal", type="civic.offer.answered", source="civic://portal", id="A-1", subject=ana,
         data={"service": "child-benefit", "answer": "accepted"})

    send("Portal", type="civic.person.address-changed", source="civic://portal", id="M-1", subject=ana,
         data={"address_line_1": "4 Hyde Park Road", "town": "Leeds", "postcode": "LS6 2AB", "moved_on": "2026-11-30",
               "leave_out": ["gp"]})
    wait_for(lambda: messages(ana).get("move-told"), timeout=60)
    assert sorted(p for p in wire.received if p in ("council", "electoral", "dvla", "gp")) == \
        ["council", "dvla", "electoral"]
    assert all("LS6 2AB" in json.dumps(b) for p in ("council", "electoral", "dvla") for b in wire.received[p])

    before = set(messages(ben))
    r = send("Register Office", type="uk.gov.gro.death-registered", source="https://gro.example/d", id="D-1",
             subject=ben, data={"registration": "D-1", "date_of_death": "2026-11-29"})
    assert r.status_code == 202, r.text
    letter = wait_for(lambda: messages(ana).get("bereavement-support"), timeout=60)
    assert "£3,500" in letter["content"]["long"] and "£350 a month for 18 months" in letter["content"]["long"]
    wait_for(lambda: "hmrc" in wire.received, timeout=60)
    assert "Ben" in json.dumps(wire.received["hmrc"]) and "Ana" not in json.dumps(wire.received["hmrc"])
    time.sleep(1)
    assert set(messages(ben)) == before  # nothing to the person who died
    again = send("Register Office", type="uk.gov.gro.death-registered", source="https://gro.example/d", id="D-2",
                 subject=ben, data={"registration": "D-2", "date_of_death": "2026-11-29"})
    assert again.json()["status"] == "duplicate" and again.json()["first"] == "D-1"
