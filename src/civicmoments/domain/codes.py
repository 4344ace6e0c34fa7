"""Confirmation codes: six digits sent to a contact detail, checked against a salted hash.

One mechanism for every change a person confirms with a code (a new mobile number or email address,
new bank details). The code itself is never kept: only ``code_hash(salt, code)``. A code lasts until
``expires`` and allows ``max_tries`` wrong attempts; after that the person asks for a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

CODE = re.compile(r"^\d{6}$")
TRIES = 5  # wrong codes allowed before the person must ask for a new one

# Why a code was not accepted, in the order they are checked (words: ``code_err_<problem>``).
EXPIRED, TOO_MANY, MISSING, FORMAT, WRONG = "expired", "tries", "missing", "format", "wrong"


def new_code() -> tuple[str, str, str]:
    """A fresh code with its salt and hash: (code, salt, hash); the code goes to the person, the rest is kept."""
    code, salt = f"{secrets.randbelow(10**6):06d}", secrets.token_hex(16)
    return code, salt, code_hash(salt, code)


def code_hash(salt: str, code: str) -> str:
    """The SHA-256 hex digest of ``salt:code`` (64 characters)."""
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def cleaned(entered: str) -> str:
    """What the person typed, without spaces (at most 20 characters)."""
    return re.sub(r"\s", "", entered or "")[:20]


def problem(entered: str, *, salt: str, hashed: str, expires: datetime, tries: int, now: datetime,
            max_tries: int = TRIES) -> str | None:
    """Why ``entered`` does not confirm the change (None: it does).

    One of EXPIRED (``now`` is at or past ``expires``), TOO_MANY (``tries`` wrong codes already), MISSING,
    FORMAT (not six digits) or WRONG; the caller counts a WRONG one as a try."""
    code = cleaned(entered)
    if expires <= now:
        return EXPIRED
    if tries >= max_tries:
        return TOO_MANY
    if not code:
        return MISSING
    if not CODE.match(code):
        return FORMAT
    if not hmac.compare_digest(code_hash(salt, code), hashed):
        return WRONG
    return None
