"""The two channels the platform runs itself: the portal inbox and assisted contact by staff."""

from __future__ import annotations

from collections.abc import Sequence

from ...domain.messages import Channel, Outcome, Status
from ...engine.ports import Outgoing


class Inbox:
    """Always on. A message is in the inbox as soon as it is queued; it is delivered when read."""

    name, channel = "inbox", Channel.INBOX

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return [Outcome(Status.SENDING, "in the portal inbox, waiting to be read", provider=self.name)] * len(batch)


class AssistedContact:
    """A task for staff to reach the person by phone or in person; done when they report back.

    With the case service set (``cases``, by bootstrap), each task is a case in the
    ``assisted-contact`` queue, one per message (its key), so a work coach finds it in the console;
    resolving the case as contacted or done delivers the message."""

    name, channel = "staff", Channel.ASSISTED
    QUEUE = "assisted-contact"

    def __init__(self) -> None:
        self.cases = None

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        if self.cases is not None and self.QUEUE in self.cases.queues and batch:
            self.cases.open_many([{"queue": self.QUEUE, "person": o.person, "key": f"assisted:{o.message}",
                                   "reason": f"No channel reached the person: tell them \"{o.subject}\" by phone "
                                             "or in person", "data": {"message": o.message}} for o in batch])
        return [Outcome(Status.SENDING, "task for staff: contact by phone or in person",
                        provider=self.name)] * len(batch)
