"""Interview booking: the person picks one of the slots the partner offered in their plan.

The booking is checked against the plan, becomes an event (``civic.interview.booked``)
that the journey waits for, and an iCalendar invitation anyone with the link can add to
their calendar.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from ..domain.clock import Clock
from .errors import InvalidBookingError, NotFoundError

PLAN_STEPS = ("rematch", "match")  # the latest plan first


class Interviews:
    def __init__(self, store, publish, clock: Clock, public_url: str, moment: str = "job-loss") -> None:
        self.store, self.publish, self.clock = store, publish, clock
        self.public_url, self.moment = public_url.rstrip("/"), moment

    def _journey(self, person: str):
        for j in self.store.journeys_for(person):
            if j.moment == self.moment and j.status.value == "active":
                return j
        raise NotFoundError(f"{person} has no active {self.moment} journey with a plan")

    def offered(self, person: str) -> list[dict[str, Any]]:
        j = self._journey(person)
        for step in PLAN_STEPS:
            run = j.steps.get(step)
            if run is not None and isinstance(run.result, dict) and run.result.get("jobs"):
                return run.result["jobs"]
        return []

    def book(self, person: str, job_id: str, slot: str) -> dict[str, Any]:
        j = self._journey(person)
        job = next((x for x in self.offered(person) if x["id"] == job_id), None)
        if job is None:
            raise InvalidBookingError(f"job {job_id!r} is not in your plan")
        if slot not in job.get("slots", []):
            raise InvalidBookingError(f"{slot!r} is not one of the times offered for this job: "
                                      f"{', '.join(job.get('slots', [])) or 'none'}")
        calendar = f"{self.public_url}/v1/people/{person}/interviews/{j.id}.ics"
        booking = {"job": job["id"], "title": job["title"], "employer": job["employer"], "town": job["town"],
                   "starts": slot, "calendar": calendar}
        self.publish("civic.interview.booked", person, booking)
        return booking

    def ics(self, person: str, journey_id: str) -> bytes:
        found = self.store.journey(journey_id)
        if found is None or found["journey"].person != person:
            raise NotFoundError(f"no interview booking {journey_id!r} for this person")
        run = found["journey"].steps.get("interview")
        b = run.result if run is not None else None
        if not b or "starts" not in b:
            raise NotFoundError("no interview has been booked on this plan yet")
        return invitation(b, journey_id, self.clock.now())


def invitation(b: dict[str, Any], uid: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Civic Moments//Interview invitation//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    ev = Event()
    starts = datetime.fromisoformat(b["starts"])
    ev.add("uid", f"interview-{uid}@civicmoments")
    ev.add("dtstamp", now)
    ev.add("dtstart", starts)
    ev.add("dtend", starts + timedelta(minutes=45))
    ev.add("summary", f"Interview: {b['title']} at {b['employer']}")
    ev.add("location", f"{b['employer']}, {b.get('town', '')}".strip(", "))
    ev.add("description", "Booked through your return-to-work plan. Travel to the interview is free with your "
                          "registered travel card.")
    cal.add_component(ev)
    return cal.to_ical()
