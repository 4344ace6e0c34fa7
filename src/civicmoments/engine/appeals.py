"""Appeals to the tribunal (``app.appeals``): an officer records that the person appealed against
a mandatory reconsideration that kept the decision.

Recording puts a note on the reconsideration case (its version check stops two officers
recording one appeal) and publishes ``civic.person.appeal-lodged``, whose journey
(``moments/appeal.yaml``) opens an `appeal` case; the tribunal's decision, recorded there,
returns to that journey. The console, ``POST /v1/cases/{id}/appeal`` and ``civic cases appeal``
all record through here.

Errors (``domain/cases``): CaseNotFoundError (404), NotPermittedError (403, the officer may not
act on the `appeal` queue), InvalidCaseRequestError (422: not a kept reconsideration, a channel
or date that is not one), AppealAlreadyRecordedError (409).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from ..domain.cases import Case, InvalidCaseRequestError, _error
from ..domain.clock import Clock
from ..domain.staff import Officer

SERVICE = "jsa-new-style"  # the service whose decisions the job-loss moment makes, reviews and reconsiders
APPEAL_LODGED = "civic.person.appeal-lodged"
APPEAL_NOTE = "Appeal to the tribunal recorded"
APPEAL_CHANNELS = {"post": "By post", "phone": "By phone", "online": "Online", "assisted": "With an officer's help"}
REFERENCE_LIMIT = 40  # characters of the tribunal's reference

AppealAlreadyRecordedError = _error("AppealAlreadyRecordedError", "appeal-already-recorded", 409,
                                    "An appeal is already recorded for this reconsideration")


class Appeals:
    def __init__(self, cases, service_name: Callable[[str], str], publish: Callable[..., Any], clock: Clock) -> None:
        self.cases, self.service_name, self.publish, self.clock = cases, service_name, publish, clock

    def problems(self, case: Case, channel: str | None, received_on: str | None,
                 reference: str | None = None) -> list[tuple[str, str]]:
        """What is wrong with recording this appeal, as (field, words) pairs: [] when nothing is.
        Fields: ``case``, ``channel``, ``received_on`` (a date, today or before), ``reference`` (up to
        ``REFERENCE_LIMIT`` characters: a longer one is refused, never cut short)."""
        found = []
        if case.queue != "mandatory-reconsideration" or case.outcome != "upheld":
            found.append(("case", "An appeal is recorded against a mandatory reconsideration that kept the decision"))
        if channel not in APPEAL_CHANNELS:
            found.append(("channel", "Select how the appeal reached us"))
        try:
            received = date.fromisoformat((received_on or "").strip())
        except ValueError:
            found.append(("received_on", "Enter the date the tribunal received the appeal, like 2026-12-01"))
        else:
            if received > self.clock.now().date():
                found.append(("received_on", "The date the tribunal received the appeal must be today or before"))
        if len((reference or "").strip()) > REFERENCE_LIMIT:
            found.append(("reference", f"The tribunal's reference must be {REFERENCE_LIMIT} characters or fewer"))
        return found

    @staticmethod
    def recorded(case: Case) -> bool:
        return any(n["text"].startswith(APPEAL_NOTE) for n in case.notes)

    def record(self, case_id: str, officer: Officer, channel: str, received_on: str,
               reference: str | None = None) -> Case:
        """Record the person's appeal against reconsideration ``case_id``; ``received_on`` is the
        ISO date (YYYY-MM-DD, today or before) the tribunal received it, ``reference`` the tribunal's
        (up to 40 characters). Returns the reconsideration case with its note."""
        self.cases.permit(officer, "act", "appeal", case_id)
        case = self.cases.get(case_id, officer=officer)
        wrong = self.problems(case, channel, received_on, reference)
        if wrong:
            raise InvalidCaseRequestError("; ".join(words + (f" ({', '.join(APPEAL_CHANNELS)})" if field == "channel"
                                                             else "") for field, words in wrong))
        if self.recorded(case):
            raise AppealAlreadyRecordedError(f"an appeal is already recorded on case {case.id}")
        received = received_on.strip()
        event = {"service": SERVICE, "service_name": self.service_name(SERVICE), "reconsideration_case": case.id,
                 "received_on": received, "recorded_by": officer.id, "channel": channel}
        if (reference or "").strip():
            event["tribunal_reference"] = reference.strip()
        noted = self.cases.note(case.id, officer, f"{APPEAL_NOTE} ({APPEAL_CHANNELS[channel]}, received {received})"
                                f"{': ' + event['tribunal_reference'] if 'tribunal_reference' in event else ''}",
                                case.version)
        self.publish(APPEAL_LODGED, case.person, event, self.clock.now())
        return noted
