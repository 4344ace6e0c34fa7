from __future__ import annotations

import itertools
import tempfile
import textwrap
from datetime import datetime, timezone
from pathlib import Path

from civicmoments.domain.events import LifeEvent
from civicmoments.domain.moments import Moment
from civicmoments.packs.moments import load_moment

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
_seq = itertools.count(1)


def moment(text: str) -> Moment:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.yaml"
        path.write_text(textwrap.dedent(text))
        return load_moment(path)


def event(type_: str, data: dict | None = None, subject: str = "p1", source: str = "test://s",
          id_: str | None = None) -> LifeEvent:
    n = next(_seq)
    return LifeEvent(source, id_ or f"e{n}", type_, subject, NOW, data or {}, n)
