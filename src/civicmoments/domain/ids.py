"""Time-ordered identifiers (UUIDv7, RFC 9562)."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last = [0, 0]  # the last millisecond used, and the counter within it
_BLOCK = 4096  # bytes of randomness drawn from the operating system at a time
_random = [b"", 0]  # random bytes drawn and not yet used, and how many of them are used


def _forget_random() -> None:
    """In a forked child: drop the parent's unused random bytes, so no two processes use the same."""
    _random[0], _random[1] = b"", 0


os.register_at_fork(after_in_child=_forget_random)


def _random_int(n: int) -> int:
    """``n`` bytes from the operating system's CSPRNG, as an integer; drawn ``_BLOCK`` bytes at a
    time (one system call, which lets other threads take the interpreter, per few hundred
    identifiers rather than per identifier). Call with ``_lock`` held."""
    data, used = _random
    if used + n > len(data):
        data, used = os.urandom(_BLOCK), 0
        _random[0] = data
    _random[1] = used + n
    return int.from_bytes(data[used:used + n], "big")


def uuid7(ms: int | None = None) -> str:
    """A UUIDv7 string. Within one process, identifiers made without ``ms`` are strictly
    increasing: ``rand_a`` holds a counter for identifiers made in the same millisecond
    (RFC 9562 section 6.2, method 1), so two facts recorded in one millisecond keep their order."""
    with _lock:
        if ms is None:
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
            unix_ms, rand_a = ms, _random_int(2) & 0xFFF
        rand = _random_int(8)
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rand_a << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"  # as str(uuid.UUID(int=value))
