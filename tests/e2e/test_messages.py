"""Messages through a real ``civic serve``: preferences, a text to a Notify-compatible API, its
delivery receipt, the print supplier's queue, and ``civic messages show``."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from ..channels import NotifyLike, api_key
from .conftest import CIVIC, civic_env, free_port, wait_for

RECEIPTS = "receipts-secret-for-tests"


@pytest.fixture(scope="module")
def sms_api():
    server = NotifyLike().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def civic(tmp_path_factory, sms_api):
    tmp = tmp_path_factory.mktemp("messages")
    port = free_port()
    provider = {"name": "notify", "api_key": api_key(), "base_url": sms_api.url, "template_id": "body-only"}
    env = civic_env(tmp, CIVIC_PORT=str(port), CIVIC_RECEIPTS_TOKEN=RECEIPTS,
                    CIVIC_SMS_PROVIDERS=json.dumps([provider]))
    tokens = {}
    for name, source, scopes in [
        ("Northfield", "https://northfield.example/*", ["uk.gov.dwp.employment.*"]),
        ("Registrar", "https://registrar.example/*", ["people:write", "facts:identity", "facts:contact",
                                                       "facts:address", "facts:employment"]),
        ("Console", "civic://console", ["messages:read", "messages:write"]),
        ("Printer", "https://printer.example/*", ["print"]),
    ]:
        args = [a for s in scopes for a in ("--scope", s)]
        out = subprocess.run([*CIVIC, "orgs", "add", name, "--source", source, *args, "--json"], env=env,
                             capture_output=True, text=True, check=True)
        tokens[name] = json.loads(out.stdout)["token"]
    proc = subprocess.Popen([*CIVIC, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(url), timeout=30)
    yield url, tokens, env
    proc.terminate()
    proc.wait(timeout=10)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def auth(tokens, name):
    return {"Authorization": f"Bearer {tokens[name]}"}


def new_person(url, tokens, facts: dict, prefs: dict) -> str:
    pid = httpx.post(f"{url}/v1/people", json={}, headers=auth(tokens, "Registrar")).json()["id"]
    r = httpx.post(f"{url}/v1/people/{pid}/facts", headers=auth(tokens, "Registrar"),
                   json=[{"attribute": k, "value": v} for k, v in {"employer": "Northfield", **facts}.items()])
    assert r.status_code == 201, r.text
    r = httpx.put(f"{url}/v1/people/{pid}/preferences", json=prefs, headers=auth(tokens, "Console"))
    assert r.status_code == 200, r.text
    return pid


def redundancy(url, tokens, pid: str, n: int) -> None:
    event = {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "id": f"R-{n}",
             "source": "https://northfield.example/hr", "subject": pid,
             "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 30, "class1_contribution_years": 2}}
    r = httpx.post(f"{url}/v1/events", json=event, headers={**auth(tokens, "Northfield"),
                                                            "Content-Type": "application/cloudevents+json"})
    assert r.status_code in (200, 202), r.text


def messages(url, tokens, pid):
    return httpx.get(f"{url}/v1/people/{pid}/messages", headers=auth(tokens, "Console")).json()


def test_a_text_goes_out_and_its_receipt_delivers_it(civic, sms_api):
    url, tokens, env = civic
    pid = new_person(url, tokens, {"given_name": "Abe", "family_name": "Jones", "phone": "07911 123456"},
                     {"channels": ["sms"]})
    redundancy(url, tokens, pid, 1)
    (m,) = wait_for(lambda: [x for x in messages(url, tokens, pid) if x["status"] == "sending"])
    assert m["channel"] == "sms" and sms_api.rejected == []
    sent = next(r for r in sms_api.received if r["reference"] == m["id"])
    assert sent["phone_number"] == "+447911123456"
    callback = {"id": "bd2b3f13-0c53-4b3e-8c3c-2f6b2a1a9c51", "reference": m["id"], "to": "+447911123456",
                "status": "delivered", "created_at": "2026-11-22T10:00:00.000000Z",
                "completed_at": "2026-11-22T10:00:05.000000Z", "sent_at": "2026-11-22T10:00:01.000000Z",
                "notification_type": "sms"}
    bad = httpx.post(f"{url}/v1/messages/receipts", json=callback, headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and bad.json()["type"].endswith("/credential-invalid")
    ok = httpx.post(f"{url}/v1/messages/receipts", json=callback, headers={"Authorization": f"Bearer {RECEIPTS}"})
    assert ok.status_code == 200 and ok.json()["status"] == "delivered"
    assert messages(url, tokens, pid)[0]["status"] == "delivered"
    out = subprocess.run([*CIVIC, "messages", "show", pid], env=env, capture_output=True, text=True, check=True)
    assert f"{m['id']}  notice-of-assistance v3 (en)  delivered on sms" in out.stdout
    assert "accepted by notify" in out.stdout and "receipt from provider: delivered" in out.stdout


def test_bad_receipts_and_preferences_get_clear_errors(civic):
    url, tokens, _ = civic
    headers = {"Authorization": f"Bearer {RECEIPTS}"}
    r = httpx.post(f"{url}/v1/messages/receipts", json={"reference": "nope", "status": "delivered"}, headers=headers)
    assert r.status_code == 404 and "no message with id or reference 'nope'" in r.json()["detail"]
    r = httpx.post(f"{url}/v1/messages/receipts", json={"reference": "x", "status": "lost"}, headers=headers)
    assert r.status_code == 422 and "unknown delivery status 'lost'" in r.json()["detail"]
    pid = new_person(url, tokens, {"given_name": "Cy"}, {})
    r = httpx.put(f"{url}/v1/people/{pid}/preferences", json={"language": "fr"}, headers=auth(tokens, "Console"))
    assert r.status_code == 422 and r.json()["detail"] == "language must be one of en, cy; got 'fr'"
    r = httpx.put(f"{url}/v1/people/{pid}/preferences", json={"quiet_hours": "late"},
                  headers=auth(tokens, "Console"))
    assert r.status_code == 422 and "written like 21:00-08:00" in r.json()["detail"]


def test_the_print_supplier_takes_letters_from_the_queue_and_reports_them_posted(civic):
    url, tokens, _ = civic
    pid = new_person(url, tokens, {"given_name": "Dee", "family_name": "Hale", "address_line_1": "2 Quay St",
                                   "town": "Cardiff", "postcode": "CF10 1EP"}, {"channels": ["letter"]})
    redundancy(url, tokens, pid, 2)
    (m,) = wait_for(lambda: [x for x in messages(url, tokens, pid) if x["status"] == "sending"])
    queue = httpx.get(f"{url}/v1/print/letters", headers=auth(tokens, "Printer")).json()
    assert m["id"] in [q["id"] for q in queue]
    assert httpx.get(f"{url}/v1/print/letters", headers=auth(tokens, "Console")).status_code == 403
    pdf = httpx.get(f"{url}/v1/print/letters/{m['id']}.pdf", headers=auth(tokens, "Printer"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    r = httpx.post(f"{url}/v1/print/letters/{m['id']}/posted", headers=auth(tokens, "Printer"))
    assert r.json() == {"message": m["id"], "status": "delivered", "channel": "letter"}
    again = httpx.post(f"{url}/v1/print/letters/{m['id']}/posted", headers=auth(tokens, "Printer"))
    assert again.json()["status"] == "delivered"  # a repeat changes nothing


def test_several_web_processes_share_sign_in_and_sessions(tmp_path):
    """Two web processes: a code issued by one is redeemed by either, and a session works on both."""
    import re

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = civic_env(tmp_path, CIVIC_PORT=str(port), CIVIC_PUBLIC_URL=url, CIVIC_DEMO_MODE="true",
                    CIVIC_WEB_PROCESSES="2")
    subprocess.run([*CIVIC, "people", "add", "--id", "ni_number=SJ123456A"], env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([*CIVIC, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _up(url), timeout=180)  # two processes each build the app; slow on a busy machine
        for _ in range(6):  # enough sign-ins to land on both processes
            with httpx.Client(base_url=url, follow_redirects=True) as c:
                page = c.get("/sign-in")
                form = re.search(r'<form method="post" action="(/demo-idp/authorize)">(.*?)</form>', page.text, re.S)
                fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
                home = c.post(form.group(1), data=fields)
                assert home.status_code == 200 and "/sign-out" in home.text
                assert all(c.get(p).status_code == 200 for p in ("/inbox", "/data", "/access"))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_notifys_sent_status_is_final_over_http(civic, sms_api):
    url, tokens, _ = civic
    pid = new_person(url, tokens, {"given_name": "Inès", "phone": "+33 6 12 34 56 78"}, {"channels": ["sms"]})
    redundancy(url, tokens, pid, 3)
    (m,) = wait_for(lambda: [x for x in messages(url, tokens, pid) if x["status"] == "sending"])
    callback = {"id": "5f6a1c3e-9d1b-4c55-a0a5-0c2b9e0c1f11", "reference": m["id"], "to": "+33612345678",
                "status": "sent", "notification_type": "sms"}
    r = httpx.post(f"{url}/v1/messages/receipts", json=callback, headers={"Authorization": f"Bearer {RECEIPTS}"})
    assert r.status_code == 200 and r.json() == {"message": m["id"], "status": "sent", "channel": "sms"}
    (after,) = messages(url, tokens, pid)
    assert (after["status"], after["channel"]) == ("sent", "sms")


def test_a_letter_that_cannot_be_posted_never_reaches_the_print_queue(civic):
    url, tokens, env = civic
    pid = new_person(url, tokens, {"given_name": "Fay", "family_name": "Hill", "postcode": "NOT A POSTCODE"},
                     {"channels": ["letter"]})
    redundancy(url, tokens, pid, 4)
    # The letter fails for good, the message moves on to the assisted channel (queued there for
    # a moment), and is handed to the assisted-digital team: it ends there, sending.
    (m,) = wait_for(lambda: [x for x in messages(url, tokens, pid)
                             if x["channel"] == "assisted" and x["status"] != "queued"])
    assert m["status"] == "sending"
    (failed,) = [h for h in m["history"] if h["channel"] == "letter" and h["status"] == "permanent-failure"]
    assert "neither a real UK postcode" in failed["detail"]
    queue = httpx.get(f"{url}/v1/print/letters", headers=auth(tokens, "Printer")).json()
    assert m["id"] not in [q["id"] for q in queue]
    out = subprocess.run([*CIVIC, "messages", "assisted"], env=env, capture_output=True, text=True, check=True)
    assert m["id"] in out.stdout
