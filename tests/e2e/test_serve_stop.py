"""``civic serve`` stopped as a service manager stops it (SIGTERM, ``docker stop``): the engine stops
first and its heartbeat says so, so no other process's /healthz counts it as running."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
from sqlalchemy import create_engine, select

from civicmoments.adapters.store.schema import engine_heartbeats

from .conftest import CIVIC, civic_env, free_port


def test_sigterm_stops_the_engine_before_the_server_exits(tmp_path):
    port = free_port()
    proc = subprocess.Popen([*CIVIC, "serve"], env=civic_env(tmp_path, CIVIC_PORT=str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90  # a busy machine starts slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").json()["engine"]["running"]:
                    break
            except (httpx.TransportError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        else:
            proc.kill()
            raise AssertionError(f"civic serve did not start: {proc.communicate()[0].decode()[-2000:]}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM  # the status a service manager expects
    finally:
        if proc.poll() is None:
            proc.kill()
    db = create_engine(f"sqlite:///{tmp_path / 'civic.db'}")
    with db.connect() as conn:
        beats = conn.execute(select(engine_heartbeats.c.running)).all()
    db.dispose()
    assert beats == [(False,)], "the engine's last heartbeat says it stopped"
