"""Text messages through a GOV.UK Notify-compatible API, with the official Python client.

The deployment makes one SMS template in its Notify service whose whole body is
``((body))``; the platform renders the text and passes it as that one placeholder, with
the message id as the reference so that delivery receipts find their message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from ...domain.messages import Channel, Outcome, Status
from ...engine.ports import Outgoing

# 429 is a 4xx but means "slow down", not "this will never work".
RETRIED_4XX = {408, 429}


class NotifySms:
    channel = Channel.SMS

    def __init__(self, name: str, api_key: str, base_url: str, template_id: str, timeout: float = 10.0,
                 concurrency: int = 8) -> None:
        self.name, self.template_id = name, template_id
        self.client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"sms-{name}")

    def body(self, m: Outgoing) -> bytes:
        """The request body the official client sends for this message (it serialises with json.dumps)."""
        return json.dumps({"phone_number": m.to, "template_id": self.template_id,
                           "personalisation": {"body": m.short}, "reference": m.message}).encode()

    def _one(self, m: Outgoing) -> Outcome:
        digest = hashlib.sha256(self.body(m)).hexdigest()
        try:
            resp = self.client.send_sms_notification(m.to, self.template_id, personalisation={"body": m.short},
                                                     reference=m.message)
        except APIError as exc:
            if exc.response is None:  # no answer at all: refused, reset or timed out
                return Outcome(Status.TECHNICAL_FAILURE, f"no answer from {self.name}: {exc.__cause__ or exc}",
                               provider=self.name)
            code = exc.status_code
            detail = f"{self.name} answered {code}: {exc.message}"
            if 400 <= code < 500 and code not in RETRIED_4XX:
                return Outcome(Status.PERMANENT_FAILURE, detail, provider=self.name, body_sha256=digest)
            return Outcome(Status.TECHNICAL_FAILURE, detail, provider=self.name)
        except Exception as exc:  # noqa: BLE001 - anything else from the transport is passing
            return Outcome(Status.TECHNICAL_FAILURE, f"{self.name}: {type(exc).__name__}: {exc}", provider=self.name)
        return Outcome(Status.SENDING, f"accepted by {self.name}", reference=str(resp.get("id") or m.message),
                       provider=self.name, body_sha256=digest)

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return list(self.pool.map(self._one, batch))
