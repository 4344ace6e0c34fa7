"""Real servers for the channel tests: an SMTP server (aiosmtpd) and a Notify-compatible API.

The Notify-compatible server checks what GOV.UK Notify's API documents: a bearer JWT
signed with HS256 by the API key's secret, with ``iss`` the service id and a fresh
``iat``; and a JSON body with ``phone_number``, ``template_id``, optional
``personalisation`` (an object) and ``reference`` (a string). It answers 201 with the
documented response shape, or as told: a status code, or a hang to cause a timeout.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from notifications_python_client.authentication import decode_jwt_token, get_token_issuer

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"


def api_key(name: str = "civic") -> str:
    return f"{name}-{SERVICE_ID}-{SECRET}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self, pipelining: bool = True) -> None:
        self.pipelining = pipelining
        self.messages: list = []
        self.recipients: list[str] = []  # every envelope recipient of every message accepted
        self.raw: list[bytes] = []  # each message's bytes, as the server received them
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's hook
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads commands one after another, so it takes them pipelined as they are
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)
            self.recipients.extend(envelope.rcpt_tos)
            self.raw.append(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class SmtpServer:
    """``smtputf8``: offer SMTPUTF8 (RFC 6531), so addresses and headers may be UTF-8; ``pipelining``:
    offer PIPELINING (RFC 2920), as most servers do; ``port``: a given port (a server coming back where
    one stopped), else a free one."""

    def __init__(self, smtputf8: bool = False, port: int | None = None, pipelining: bool = True) -> None:
        self.inbox = _Inbox(pipelining)
        self.port = port or free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list:
        with self.inbox.lock:
            return list(self.inbox.messages)

    @property
    def recipients(self) -> list[str]:
        with self.inbox.lock:
            return list(self.inbox.recipients)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class NotifyLike:
    """A Notify-compatible SMS API on loopback. ``answer`` is 201, an error status, or 'hang'."""

    answer: int | str = 201
    received: list[dict] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why a request broke the documented contract
    raw: list[bytes] = field(default_factory=list)  # each request body, as it arrived
    port: int = 0

    def start(self) -> NotifyLike:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's hook
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.raw.append(body)
                problem = owner.check(self.path, self.headers.get("Authorization", ""), body)
                if problem:
                    owner.rejected.append(problem)
                    return self._reply(400 if "body" in problem else 403,
                                       {"status_code": 403, "errors": [{"error": "AuthError", "message": problem}]})
                payload = json.loads(body)
                owner.received.append(payload)
                if owner.answer == "hang":
                    time.sleep(1)  # past the client's timeout: it has gone by the time we answer
                    self.close_connection = True
                    return
                if owner.answer != 201:
                    return self._reply(int(owner.answer), {"status_code": owner.answer, "errors": [
                        {"error": "BadRequestError" if owner.answer < 500 else "Exception",
                         "message": f"told to answer {owner.answer}"}]})
                nid = str(uuid.uuid4())
                self._reply(201, {
                    "id": nid, "reference": payload.get("reference"),
                    "content": {"body": payload["personalisation"]["body"], "from_number": "CIVIC"},
                    "uri": f"http://127.0.0.1:{owner.port}/v2/notifications/{nid}",
                    "template": {"id": payload["template_id"], "version": 1,
                                 "uri": f"http://127.0.0.1:{owner.port}/v2/template/{payload['template_id']}"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def check(path: str, authorization: str, body: bytes) -> str | None:
        if path != "/v2/notifications/sms":
            return f"wrong path {path}"
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return "no bearer token"
        try:
            if get_token_issuer(token) != SERVICE_ID:
                return "token issued by the wrong service"
            decode_jwt_token(token, SECRET)
        except Exception as exc:  # noqa: BLE001 - any failure is a rejected token
            return f"bad token: {type(exc).__name__}"
        try:
            payload = json.loads(body)
        except ValueError:
            return "body is not JSON"
        if not isinstance(payload.get("phone_number"), str) or not isinstance(payload.get("template_id"), str):
            return "body needs phone_number and template_id"
        if not isinstance(payload.get("personalisation", {}), dict):
            return "body personalisation must be an object"
        if "reference" in payload and not isinstance(payload["reference"], str):
            return "body reference must be a string"
        return None

    def stop(self) -> None:
        self.server.shutdown()
