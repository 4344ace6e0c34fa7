"""Email over SMTP. Each sending thread keeps its connection open and reuses it."""

from __future__ import annotations

import smtplib
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from ...domain.messages import Channel, Outcome, Status
from ...engine.ports import Outgoing
from ...packs.templates import to_html

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: Arial, sans-serif; font-size: {size}; line-height: 1.5; color: #0b0c0c">
{body}
</body></html>"""


def compose(m: Outgoing, sender: str, sender_name: str, domain: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, sender))
    msg["To"] = formataddr((m.name, m.to))
    msg["Subject"] = m.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=m.message, domain=domain)
    msg["Content-Language"] = m.locale
    msg["X-Civic-Message"] = m.message
    msg.set_content(m.long)
    size = "24px" if m.large_print else "19px"
    msg.add_alternative(PAGE.format(lang=m.locale, title=m.subject, size=size, body=to_html(m.long)),
                        subtype="html")
    return msg


class SmtpEmail:
    channel = Channel.EMAIL

    def __init__(self, name: str, host: str, port: int, sender: str, sender_name: str = "Civic Moments",
                 username: str | None = None, password: str | None = None, starttls: bool = False,
                 timeout: float = 10.0, concurrency: int = 4) -> None:
        self.name, self.host, self.port = name, host, port
        self.sender, self.sender_name = sender, sender_name
        self.domain = sender.rpartition("@")[2] or "localhost"
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"smtp-{name}")

    def _connection(self) -> smtplib.SMTP:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls()
            if self.username:
                conn.login(self.username, self.password or "")
            self.local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self.local, "conn", None)
        self.local.conn = None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def _one(self, m: Outgoing) -> Outcome:
        msg = compose(m, self.sender, self.sender_name, self.domain)
        for attempt in (1, 2):  # a connection the server closed while idle is reopened once
            try:
                self._connection().send_message(msg)
                return Outcome(Status.DELIVERED, f"accepted by {self.name}", reference=msg["Message-ID"],
                               provider=self.name)
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    return Outcome(Status.TECHNICAL_FAILURE, f"{self.name}: {exc}", provider=self.name)
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                return self._refused(code, text)
            except smtplib.SMTPResponseException as exc:
                self._reset()
                return self._refused(exc.smtp_code, exc.smtp_error)
            except (OSError, socket.timeout, smtplib.SMTPException) as exc:
                self._drop()
                return Outcome(Status.TECHNICAL_FAILURE, f"{self.name}: {type(exc).__name__}: {exc}",
                               provider=self.name)
        raise AssertionError("unreachable")

    def _reset(self) -> None:
        try:
            self._connection().rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _refused(self, code: int, text) -> Outcome:
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        detail = f"{self.name} refused it: {code} {text}"
        if 400 <= code < 500:
            return Outcome(Status.TEMPORARY_FAILURE, detail, provider=self.name)
        return Outcome(Status.PERMANENT_FAILURE, detail, provider=self.name)

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return list(self.pool.map(self._one, batch))
