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
    """A task for staff to reach the person by phone or in person; done when they report back."""

    name, channel = "staff", Channel.ASSISTED

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return [Outcome(Status.SENDING, "task for staff: contact by phone or in person",
                        provider=self.name)] * len(batch)
