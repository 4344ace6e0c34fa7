"""A body limit on every route, applied before the body is read and before authentication.

A declared ``Content-Length`` over the limit is answered 413 at once, without reading a byte of
the body; a body sent without one (chunked) is counted as it arrives and refused when it passes
the limit. The answer is an RFC 9457 problem (``payload-too-large``) naming the limit.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..engine.errors import PayloadTooLargeError
from .problems import PROBLEM_JSON


class BodyLimit:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, 400, "malformed-request", "The request is malformed",
                              "the Content-Length header is not a number")
                return
            if int(declared) > limit:
                await _refuse(send, 413, PayloadTooLargeError.slug, PayloadTooLargeError.title,
                              f"the request is {int(declared)} bytes; the limit here is {limit} bytes")
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # an HTTPException, which FastAPI's body parsing passes on as it is
                    raise HTTPException(413, f"the request is over the limit of {limit} bytes")
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except HTTPException as exc:
            if started or exc.status_code != 413:
                raise
            await _refuse(send, 413, PayloadTooLargeError.slug, PayloadTooLargeError.title, str(exc.detail))


async def _refuse(send: Send, status: int, slug: str, title: str, detail: str) -> None:
    body = orjson.dumps({"type": f"https://civicmoments.org/problems/{slug}", "title": title, "status": status,
                         "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
