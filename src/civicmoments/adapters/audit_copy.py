"""Copies of the access log's checkpoints kept outside the database.

Each checkpoint is appended as one JSON line to a file opened with ``O_APPEND`` (mode 0600),
flushed to disk before the checkpoint is committed. Point ``CIVIC_AUDIT_COPY`` at storage
that only allows appends (``chattr +a``, a WORM bucket mount, a log host): whoever can
rewrite the database then still cannot rewrite what the copy says.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class AppendOnlyCopy:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(record, sort_keys=True, default=str) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        """Every record, oldest first; a torn last line (a crash mid-write) is left out."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
