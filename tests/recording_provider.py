"""A real HTTP provider for tests: it honours idempotency keys and counts what it performed.

It runs in a thread of the test process, so a worker process can be killed without it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingProvider:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.performed: Counter[str] = Counter()  # effects applied, per key (must stay at 1)
        self.calls: Counter[str] = Counter()  # requests received, per key (retries included)
        self.bodies: dict[str, dict] = {}
        self.arrivals: list[float] = []  # time.monotonic() of every request, to count the rate seen here
        self.fail_plan: dict[str, list[int]] = {}  # key prefix -> statuses to answer first
        self.holding = False  # hold the next request unanswered (performed, but its sender never hears)
        self.held = threading.Event()  # set once a request is held; ``held_port`` is its sender's port
        self.held_port = 0
        self.release = threading.Event()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                try:
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                except ValueError:
                    return  # the client died mid-request (a killed worker): nothing to perform
                key = self.headers["Idempotency-Key"]
                status = provider.answer(key, body)
                if provider.take_hold(self.client_address[1]):
                    provider.release.wait(120)
                variables = body["payload"]["spec"].get("variables", [])
                result = {"outputs": {v: True for v in variables}} if status == 200 else {}
                payload = json.dumps(result).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender was killed while its request was held: it never hears

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/effects"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, key: str, body: dict) -> int:
        with self.lock:
            self.arrivals.append(time.monotonic())
            self.calls[key] += 1
            for prefix, statuses in self.fail_plan.items():
                if key.endswith(prefix) and self.calls[key] <= len(statuses):
                    return statuses[self.calls[key] - 1]
            if key not in self.performed:
                self.performed[key] = 1  # a repeat of a key is acknowledged, not performed again
                self.bodies[key] = body
            return 200

    def hold_next(self) -> None:
        """Hold the next request after it is performed, until ``release`` is set."""
        with self.lock:
            self.held.clear()
            self.release.clear()
            self.holding = True

    def take_hold(self, port: int) -> bool:
        with self.lock:
            if not self.holding:
                return False
            self.holding, self.held_port = False, port
        self.held.set()
        return True

    def __enter__(self) -> RecordingProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
