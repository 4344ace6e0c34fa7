"""Email over SMTP. Each sending thread keeps its connection open and reuses it.

Each message succeeds or fails on its own: one message's error never fails the others in
its batch, so nothing the server accepted is sent again. An address with non-ASCII
characters (``zoë.ward@example.com``) goes with SMTPUTF8 (RFC 6531) where the server offers
it; an internationalised domain alone is sent in its ASCII (IDNA) form. Where the server
does not offer SMTPUTF8, such an address fails permanently with that reason, and the
message moves on to the next channel.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
import smtplib
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from email.header import Header
from email.utils import formataddr, formatdate
from functools import lru_cache

from ...domain.messages import Channel, Outcome, Status
from ...engine.ports import Outgoing
from ...packs.templates import to_html

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: Arial, sans-serif; font-size: {size}; line-height: 1.5; color: #0b0c0c">
{body}
</body></html>"""


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends, by the C codec: the email package is 10x slower here."""
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode(), istext=True).replace(b"\n", b"\r\n")


@lru_cache(maxsize=1024)  # a subject is the same for every message of a template in a language
def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


@lru_cache(maxsize=64)
def _sender(name: str, address: str) -> str:
    """The From header value of a provider's sender, worked out once."""
    return formataddr((name, address), "utf-8")


@lru_cache(maxsize=64)
def _quoted_sender(address: str) -> str:
    """A provider's sender as MAIL FROM gives it (smtplib's ``quoteaddr``), worked out once."""
    return smtplib.quoteaddr(address)


def _address(name: str | None, address: str) -> str:
    """A To/From header value; a non-ASCII address is written as it is (RFC 6532, with SMTPUTF8)."""
    if address.isascii():
        return formataddr((name, address), "utf-8") if name else address
    return formataddr((name, "x@x.invalid"), "utf-8").replace("x@x.invalid", address) if name else address


def compose(m: Outgoing, sender: str, sender_name: str, domain: str, to: str | None = None) -> bytes:
    """The message as RFC 5322 bytes: plain text and HTML alternatives, in the person's language.

    ``to`` is the address as sent (an internationalised domain in its IDNA form); default ``m.to``.
    """
    boundary = f"=_civic_{m.message}"
    size = "24px" if m.large_print else "19px"
    page = PAGE.format(lang=m.locale, title=html.escape(m.subject), size=size, body=to_html(m.long))
    head = "\r\n".join([
        f"From: {_sender(sender_name, sender)}",
        f"To: {_address(m.name, to or m.to)}",
        f"Subject: {_header(m.subject)}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: <{m.message}@{domain}>",
        "MIME-Version: 1.0",
        f"Content-Language: {m.locale}",
        f"X-Civic-Message: {m.message}",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ])
    part = 'Content-Type: text/{kind}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    return b"".join([
        head.encode("utf-8"), b"\r\n\r\n",
        f"--{boundary}\r\n{part.format(kind='plain')}".encode(), _qp(m.long), b"\r\n",
        f"--{boundary}\r\n{part.format(kind='html')}".encode(), _qp(page), b"\r\n",
        f"--{boundary}--\r\n".encode()])


class PipeliningSMTP(smtplib.SMTP):
    """smtplib's client, but where the server offers PIPELINING (RFC 2920) a message to one
    recipient goes in two round trips instead of four: MAIL, RCPT and DATA in one write, then
    the message. ``sendmail`` answers and raises as smtplib's does; for several recipients, or
    a server without PIPELINING, it is smtplib's own."""

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        self.ehlo_or_helo_if_needed()
        if not (self.does_esmtp and self.has_extn("pipelining")) or not isinstance(msg, bytes) \
                or isinstance(to_addrs, str) or len(to_addrs) != 1:
            return super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        (to,) = to_addrs
        options = [f"size={len(msg)}"] if self.has_extn("size") else []
        options += mail_options
        if any(o.lower() == "smtputf8" for o in options):
            if not self.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
            self.command_encoding = "utf-8"
        commands = [f"MAIL FROM:{_quoted_sender(from_addr)}{_options(options)}",
                    f"RCPT TO:{smtplib.quoteaddr(to)}{_options(rcpt_options)}", "DATA"]
        if any("\r" in c or "\n" in c for c in commands):
            raise ValueError("an SMTP command may not contain a line break")
        self.send("".join(c + "\r\n" for c in commands))
        mail = self.getreply()
        if mail[0] == 421:
            self.close()
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], from_addr)
        rcpt = self.getreply()
        if rcpt[0] == 421:
            self.close()
            raise smtplib.SMTPRecipientsRefused({to: rcpt})
        data = self.getreply()
        failed = mail[0] != 250 or rcpt[0] not in (250, 251)
        if data[0] == 354 and failed:  # the server took DATA without a sender or recipient: end it empty
            self.send(b".\r\n")
            self.getreply()
        if mail[0] != 250:
            self._rset()
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], from_addr)
        if rcpt[0] not in (250, 251):
            self._rset()
            raise smtplib.SMTPRecipientsRefused({to: rcpt})
        if data[0] != 354:
            raise smtplib.SMTPDataError(*data)
        body = _LEADING_DOT.sub(b"..", msg)  # RFC 5321 4.5.2, as smtplib does
        self.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        code, reply = self.getreply()
        if code != 250:
            if code == 421:
                self.close()
            else:
                self._rset()
            raise smtplib.SMTPDataError(code, reply)
        return {}


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _options(options) -> str:
    return "".join(" " + o for o in options)


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
        self.concurrency = concurrency
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"smtp-{name}")

    def _connection(self) -> smtplib.SMTP:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = PipeliningSMTP(self.host, self.port, timeout=self.timeout)
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

    def _envelope(self, conn: smtplib.SMTP, to: str) -> tuple[str, list[str]] | Outcome:
        """The RCPT address and MAIL options for ``to``, or why this server cannot take it."""
        if to.isascii():
            return to, []
        local, _, domain = to.rpartition("@")
        if local.isascii():
            try:
                return f"{local}@{domain.encode('idna').decode('ascii')}", []
            except UnicodeError:
                pass
        conn.ehlo_or_helo_if_needed()
        if conn.has_extn("smtputf8"):
            return to, ["SMTPUTF8"]
        return Outcome(Status.PERMANENT_FAILURE,
                       f"{self.name} cannot send to an address with non-ASCII characters: it does not offer "
                       "SMTPUTF8 (RFC 6531)", provider=self.name)

    def _one(self, m: Outgoing) -> Outcome:
        try:
            return self._deliver(m)
        except Exception as exc:  # noqa: BLE001 - one message's failure is that message's alone
            self._drop()
            return Outcome(Status.TECHNICAL_FAILURE, f"{self.name}: {type(exc).__name__}: {exc}", provider=self.name)

    def _deliver(self, m: Outgoing) -> Outcome:
        for attempt in (1, 2):  # a connection the server closed while idle is reopened once
            try:
                conn = self._connection()
                envelope = self._envelope(conn, m.to)
                if isinstance(envelope, Outcome):
                    return envelope
                rcpt, options = envelope
                msg = compose(m, self.sender, self.sender_name, self.domain, rcpt)
                conn.sendmail(self.sender, [rcpt], msg, mail_options=options)
                return Outcome(Status.DELIVERED, f"accepted by {self.name}", reference=f"{m.message}@{self.domain}",
                               provider=self.name, body_sha256=hashlib.sha256(msg).hexdigest())
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
        """One outcome per message, in the batch's order. At most ``concurrency`` sending threads share
        the batch, each taking the next message when it has sent one, over its own connection: one task
        per thread rather than one per message, so a message costs no hand-over between threads."""
        outcomes: list[Outcome | None] = [None] * len(batch)
        pending = iter(range(len(batch)))
        lock = threading.Lock()

        def drain() -> None:
            while True:
                with lock:
                    i = next(pending, None)
                if i is None:
                    return
                outcomes[i] = self._one(batch[i])

        for task in [self.pool.submit(drain) for _ in range(min(self.concurrency, len(batch)))]:
            task.result()
        return outcomes  # type: ignore[return-value]  # every slot is filled
