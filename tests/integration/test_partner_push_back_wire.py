"""JobMatch pushes back over the wire: a share reaches it, a new posting days later, and the
platform hears of it by pseudonym and tells the person. Both sides are real HTTP servers."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn
from partners.jobmatch.app import Platform
from partners.jobmatch.app import create_app as jobmatch_app

from civicmoments.api.app import create_app
from civicmoments.engine.ports import Effect

from ..conftest import make_app
from ..people import known

PURPOSE = "employment-support"
ATTRS = ["occupation", "skills", "home_area", "aspirations", "travel_radius_miles"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(asgi, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            return server
        time.sleep(0.05)
    raise RuntimeError("the server did not start")


def test_a_new_posting_days_later_reaches_the_person_matched_before(sqlite_url, clock):
    platform_port, jm_port = free_port(), free_port()
    jm_url = f"http://127.0.0.1:{jm_port}"
    app = make_app(sqlite_url, clock, settings={"partner_urls": {"JobMatch": f"{jm_url}/v1/profiles"}})
    jm_org, token = app.organisations.add("JobMatch", ["https://jobmatch.example/*"], ["jobmatch.*"])
    app.agreements.put("jobmatch-support", "JobMatch", PURPOSE, ATTRS)
    abe = known(app, given_name="Abe", occupation="midwife", skills="antenatal care, delivering babies",
                home_area="Leeds", travel_radius_miles=10)
    app.consents.give(abe, PURPOSE)
    servers = [serve(create_app(app), platform_port),
               serve(jobmatch_app(Platform(f"http://127.0.0.1:{platform_port}", token), postings=300, courses=20),
                     jm_port)]
    try:
        share = Effect(key="j1:match", journey="j1", person=abe, step="match", kind="share",
                       payload={"moment": "job-loss", "spec": {"with": "JobMatch", "purpose": PURPOSE,
                                                               "attributes": ATTRS}},
                       max_attempts=1, backoff_seconds=1, id=1, attempts=1)
        (result,) = app.effects.providers["share"].perform([share])
        assert result.verdict.value == "done", result.error
        r = httpx.post(f"{jm_url}/v1/postings", timeout=30, json={
            "title": "Community midwife", "employer": "Leeds Teaching Hospitals", "town": "Leeds",
            "occupation": "midwife", "wage_pence": 3_600_000})
        assert r.status_code == 201, r.text
        assert r.json()["told"] == 1 and r.json()["results"][0]["status"] == "accepted"
        bad = httpx.post(f"{jm_url}/v1/postings", json={"title": "x", "employer": "y", "town": "Atlantis",
                                                        "occupation": "midwife"})
        assert bad.status_code == 422 and "known town" in bad.json()["detail"]
    finally:
        for s in servers:
            s.should_exit = True
    while app.worker.run_once():
        pass
    (told,) = [m for m in app.messenger.of_person(abe, reveal=True) if m["template"] == "job-from-partner"]
    assert "Community midwife at Leeds Teaching Hospitals" in str(told)
    assert abe not in r.text, "JobMatch never learns who the person is"
    app.store.close()
