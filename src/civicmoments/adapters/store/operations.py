"""What /metrics reads from the database at scrape time (so every process reports the same):
journeys by moment and status, outbox depth and dead letters, the inbox's pending and
quarantined events, messages by channel and status, case backlog and service-level breaches by queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .schema import cases, inbox, journeys, message_history, messages, outbox
from .sql import PENDING_EVENT, QUARANTINED_EVENT


class OperationsStore:
    def __init__(self, reader: Engine) -> None:
        self.reader = reader

    def snapshot(self, now: datetime) -> dict[str, Any]:
        with self.reader.connect() as conn:
            def grouped(q) -> list[tuple]:
                return [tuple(r) for r in conn.execute(q)]

            last = (select(message_history.c.message_id, func.max(message_history.c.seq).label("seq"))
                    .group_by(message_history.c.message_id).subquery())
            open_cases = cases.c.status != "resolved"
            return {
                "journeys": grouped(select(journeys.c.moment, journeys.c.status, func.count())
                                    .group_by(journeys.c.moment, journeys.c.status)),
                "outbox": grouped(select(outbox.c.status, func.count()).group_by(outbox.c.status)),
                # the two statuses that matter here, each counted in its own partial index: a count by
                # status of every event ever received would read the whole inbox on every scrape
                "inbox": [(status, conn.execute(select(func.count()).select_from(inbox).where(condition)).scalar())
                          for status, condition in (("pending", PENDING_EVENT), ("quarantined", QUARANTINED_EVENT))],
                # each message once, on the channel of its latest attempt, with its status now
                "messages": [(channel or "none", status, n) for channel, status, n in grouped(
                    select(message_history.c.channel, messages.c.status, func.count())
                    .select_from(messages.outerjoin(last, last.c.message_id == messages.c.id)
                                 .outerjoin(message_history, message_history.c.seq == last.c.seq))
                    .group_by(message_history.c.channel, messages.c.status))],
                "backlog": grouped(select(cases.c.queue, func.count()).where(open_cases).group_by(cases.c.queue)),
                "breaches": grouped(select(cases.c.queue, func.count()).where(open_cases, cases.c.due_at < now)
                                    .group_by(cases.c.queue)),
            }
