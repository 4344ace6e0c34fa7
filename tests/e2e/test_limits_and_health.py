"""A real `civic serve`: body limits before authentication, /healthz and /metrics, consent where it does not
apply, and `civic events send` streaming a large file."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from .conftest import CIVIC, civic_env


def _raw(server, request: bytes, then: bytes = b"") -> tuple[bytes, float]:
    """Send the head of a request (and a little body), then read the answer; return it and how long it took."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        started = time.monotonic()
        s.sendall(request + then)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 60:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - started


def test_an_unauthenticated_150_mb_post_is_refused_before_it_is_read(server):
    head = (b"POST /v1/transit/checks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 157286400\r\n\r\n")
    answer, took = _raw(server, head, b"{" + b" " * 65_535)  # 64 KB of the 150 MB, then we wait for the answer
    status = answer.split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 413 Request Entity Too Large", answer[:200]
    assert b"application/problem+json" in answer and b"payload-too-large" in answer
    assert b"the limit here is 1000000 bytes" in answer
    assert took < 5, "answered without waiting for the rest of the body"


def test_a_chunked_body_over_the_limit_is_cut_off_as_it_arrives(server):
    head = (b"POST /v1/people HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 500_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3))  # 1.5 MB, never finished
    answer, _ = _raw(server, head, body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"over the limit of 1000000 bytes" in answer


def test_events_keep_their_own_limit(server):
    resp = httpx.post(f"{server.url}/v1/events", content=b"[" + b" " * 30_000 + b"]",
                      headers={"Content-Type": "application/cloudevents-batch+json"})
    assert resp.status_code == 413 and "20000 bytes" in resp.json()["detail"]  # CIVIC_MAX_PAYLOAD_BYTES


def test_healthz_and_metrics_report_a_running_engine(server):
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["engine"]["running"] is True and body["engine"]["restarts"] == 0
    assert set(body["events"]) == {"pending", "quarantined", "lag_seconds"}
    metrics = httpx.get(f"{server.url}/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "civic_engine_up 1.0" in metrics.text and "civic_engine_lag_seconds" in metrics.text


def test_a_web_process_without_the_engine_reads_the_heartbeats(server):
    """`civic serve` with several web processes runs the engine in one: the others read its heartbeat."""
    from fastapi.testclient import TestClient

    from civicmoments.api.app import create_app
    from civicmoments.bootstrap import build
    from civicmoments.settings import Settings

    env = server.env
    # another web process of the same server: like it (CIVIC_PORTAL=false), it serves the API alone, on
    # the server's day (CIVIC_NOW), not the wall clock's, or the heartbeats' age depends on when this runs
    app = build(Settings(data_dir=env["CIVIC_DATA_DIR"], portal=env["CIVIC_PORTAL"] == "true", now=env["CIVIC_NOW"]))
    report = TestClient(create_app(app)).get("/healthz")
    assert report.status_code == 200 and report.json()["engine"]["engines"] == 1
    app.store.close()


def test_consent_cannot_be_recorded_for_a_legal_obligation_or_notice_only_purpose(server):
    auth = {"Authorization": f"Bearer {server.tokens['Console']}"}
    person = httpx.post(f"{server.url}/v1/people", json={"identifiers": {"ni_number": "AB123456C"}},
                        headers=auth).json()["id"]
    for purpose, words in (("fraud-prevention", "legal obligation"), ("benefit-assessment", "with notice")):
        for method in ("PUT", "DELETE"):
            resp = httpx.request(method, f"{server.url}/v1/people/{person}/consents/{purpose}", headers=auth)
            assert resp.status_code == 409, resp.text
            assert resp.headers["content-type"] == "application/problem+json"
            assert resp.json()["type"].endswith("/no-choice-for-purpose") and words in resp.json()["detail"]
        out = server.civic("consents", "give", person, purpose, check=False)
        assert out.returncode == 1 and "cannot be given, refused or withdrawn" in out.stderr
    receipts = httpx.get(f"{server.url}/v1/people/{person}/consents", headers=auth).json()
    assert receipts == []


def test_events_send_streams_a_large_csv_in_bounded_memory(server, tmp_path):
    def send(rows: int) -> tuple[subprocess.CompletedProcess, int]:
        path = tmp_path / f"leavers-{rows}.csv"
        with path.open("w") as f:
            f.write("notice_ref,person_id,reason,last_day,age,ni_years,occupation\n")
            for n in range(rows):
                f.write(f"S{rows}-{n},s-{rows}-{n},redundancy,2026-11-20,45,2,{'fitter ' * 20}\n")
        env = civic_env(tmp_path / f"db-{rows}")
        subprocess.run([*CIVIC, "orgs", "add", "Northfield", "--source", "https://northfield.example/*",
                        "--scope", "uk.gov.dwp.employment.*"], env=env, check=True, capture_output=True)
        script = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
                  "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr);"
                  "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)")
        out = subprocess.run([sys.executable, "-c", script, *CIVIC, "events", "send", str(path), "--org", "Northfield",
                              "--type", "uk.gov.dwp.employment.job-ended", "--source", "https://northfield.example/hr"],
                             env=env, capture_output=True, text=True, timeout=600)
        return out, int(out.stderr.strip().splitlines()[-1])

    small, small_kb = send(2_000)
    large, large_kb = send(20_000)
    # every row is taken in; people the registry does not know are held for verification, not refused
    assert "2000 held" in small.stdout and "20000 held" in large.stdout, large.stderr[-500:]
    # The large file is ten times the small one (over 3 MB of rows); memory stays that of a batch.
    assert large_kb - small_kb < 20_000, (small_kb, large_kb)
    assert "sending" in large.stderr  # the progress bar


def test_events_send_reports_an_unreadable_line_and_sends_the_rest(tmp_path):
    import json

    env = civic_env(tmp_path / "db")
    subprocess.run([*CIVIC, "orgs", "add", "Northfield", "--source", "https://northfield.example/*",
                    "--scope", "uk.gov.dwp.employment.*"], env=env, check=True, capture_output=True)
    good = [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": "https://northfield.example/hr",
             "id": f"j-{n}", "subject": f"p-{n}",
             "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 30}} for n in range(3)]
    lines = [json.dumps(good[0]), "[" * 5000 + "]" * 5000, json.dumps(good[1]), "{oops", json.dumps(good[2])]
    (tmp_path / "mixed.jsonl").write_text("\n".join(lines))
    out = subprocess.run([*CIVIC, "events", "send", str(tmp_path / "mixed.jsonl"), "--org", "Northfield"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "3 held, 2 unread" in out.stdout  # the readable three are taken in (held: unknown people)
    assert "mixed.jsonl:2: the JSON is nested deeper than the limit of 32 levels" in out.stderr
    assert "mixed.jsonl:4: the body is not valid JSON" in out.stderr


def test_a_setting_that_is_not_valid_is_named_in_one_line_not_a_traceback(tmp_path):
    for variable, value, why in [("CIVIC_SQLITE_CACHE_MIB", "abc", "valid integer"),
                                 ("CIVIC_MESSAGE_BATCH_SIZE", "0", "greater than or equal to 1")]:
        env = {**civic_env(tmp_path / variable), variable: value}
        out = subprocess.run([*CIVIC, "worker", "--until-idle"], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-500:]
        (line,) = out.stderr.strip().splitlines()
        assert line.startswith(f"Error: a setting is not valid: {variable}: input should be ")
        assert why in out.stderr and repr(value) in out.stderr
