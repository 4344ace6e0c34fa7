"""Time-ordered identifiers (UUIDv7, RFC 9562)."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # the last millisecond used, and the counter within it


def uuid7(ms: int | None = None) -> str:
    """A UUIDv7 string. Within one process, identifiers made without ``ms`` are strictly
    increasing: ``rand_a`` holds a counter for identifiers made in the same millisecond
    (RFC 9562 section 6.2, method 1), so two facts recorded in one millisecond keep their order."""
    if ms is None:
        with _lock:
            now = int(time.time() * 1000)
            if now <= _last[0]:  # the same millisecond (or the clock stepped back): count on
                now, counter = _last[0], _last[1] + 1
                if counter > 0xFFF:
                    now, counter = now + 1, 0
            else:
                counter = 0
            _last[0], _last[1] = now, counter
        unix_ms, rand_a = now, counter
    else:
        unix_ms, rand_a = ms, int.from_bytes(os.urandom(2), "big") & 0xFFF
    rand = int.from_bytes(os.urandom(8), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rand_a << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
