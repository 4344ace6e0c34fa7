"""A real ``civic serve`` process on a free port, with organisations made by the real CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CIVIC = [sys.executable, "-m", "civicmoments.cli"]


@dataclass
class Server:
    url: str
    env: dict[str, str]
    tokens: dict[str, str]

    def civic(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*CIVIC, *args], env=self.env, capture_output=True, text=True, check=check,
                              timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The day every server under test runs on (CIVIC_NOW), so decisions and dates hold next year too.
TEST_NOW = "2026-11-30T09:00:00Z"


def civic_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    # one-shot commands run in the test's own process too, where the log configuration is shared: WARNING
    # for them as for the servers, so a test reading the logs sees them whichever command ran first
    env.update({"CIVIC_DATA_DIR": str(tmp), "CIVIC_LOG_LEVEL": "WARNING", "CIVIC_CLI_LOG_LEVEL": "WARNING",
                "CIVIC_IDLE_SLEEP_SECONDS": "0.01",
                "CIVIC_NOW": TEST_NOW,
                # the portal needs an identity provider; these servers without the demo one serve the API
                "CIVIC_PORTAL": "true" if extra.get("CIVIC_DEMO_MODE") == "true" else "false", **extra})
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    env = civic_env(tmp, CIVIC_PORT=str(port), CIVIC_MAX_PAYLOAD_BYTES="20000")
    srv = Server(f"http://127.0.0.1:{port}", env, {})
    for name, source, scope in [
        ("Northfield", "https://northfield.example/*", "uk.gov.dwp.employment.*"),
        ("Portal", "civic://portal", "civic.*"),
        ("Console", "civic://console", "journeys:read people:read people:write people:answer consents:read "
                                       "consents:write people:export facts:employment"),
        ("HMRC", "https://hmrc.example/*", "facts:identity facts:address facts:finance"),
        ("JobMatch", "https://jobmatch.example/*", "jobmatch.*"),
        ("Metro", "https://metro.example/*", "metro.*"),
    ]:
        scopes = [arg for s in scope.split() for arg in ("--scope", s)]
        out = srv.civic("orgs", "add", name, "--source", source, *scopes, "--json")
        srv.tokens[name] = json.loads(out.stdout)["token"]
    proc = subprocess.Popen([*CIVIC, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90  # a busy machine starts slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{srv.url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"civic serve did not start: {proc.stdout.read().decode()[-2000:]}")
    yield srv
    proc.terminate()
    proc.wait(timeout=10)


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
