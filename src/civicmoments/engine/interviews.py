"""Interview booking: the person picks one of the slots the partner offered in their plan.

The booking is checked against the plan, then **held at the partner**: the privacy gate
builds a reservation body (the pseudonym under the agreement, the job and slot, nothing
about the person) and the outbound boundary hands it to the partner and logs the hash of
the bytes. Only when the partner holds the slot does the journey hear
``civic.interview.booked``; a slot someone else holds is ``SlotTakenError`` with the job's
free slots, and no consent is ``BookingConsentError`` (nothing leaves). Cancelling
releases the slot at the partner and tells the journey ``civic.interview.cancelled``.
The invitation is iCalendar, for anyone with the link.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from ..domain.clock import Clock
from .errors import (
    BookingConsentError,
    BookingNotHeldError,
    InvalidBookingError,
    NotFoundError,
    PartnerUnavailableError,
    SlotTakenError,
)
from .gate import Refusal

PLAN_STEPS = ("rematch", "match")  # the latest plan first
BOOKED, CANCELLED = "civic.interview.booked", "civic.interview.cancelled"


def short_reference(reference: str) -> str:
    """The reference a person reads and quotes: 8 characters of the opaque reservation reference."""
    return reference.rsplit("_", 1)[-1][:8].upper()


class Interviews:
    def __init__(self, store, publish, clock: Clock, public_url: str, moment: str = "job-loss",
                 gate=None, outbound=None, transport=None, partner: str = "JobMatch",
                 purpose: str = "employment-support") -> None:
        self.store, self.publish, self.clock = store, publish, clock
        self.public_url, self.moment = public_url.rstrip("/"), moment
        self.gate, self.outbound, self.transport = gate, outbound, transport
        self.partner, self.purpose = partner, purpose

    def _at_partner(self, person: str, journey: str, action: str, job: str, slot: str) -> dict[str, Any]:
        """Reserve or cancel the slot at the partner through the gate and the outbound boundary."""
        if self.gate is None or self.transport is None:
            raise PartnerUnavailableError("no partner is configured to hold interview slots")
        org = self.store.organisation(self.partner)
        if org is None:
            raise PartnerUnavailableError(f"no partner organisation named {self.partner!r}")
        parcel = self.gate.reservation(org["id"], self.partner, self.purpose, person, action, job, slot,
                                       f"interview:{journey}:{job}:{slot}")
        if isinstance(parcel, Refusal):
            raise BookingConsentError(f"Nothing was sent to {self.partner}: {parcel.error}. To book through "
                                      f"your plan, give consent for {self.purpose} on your consents page, "
                                      f"or ask a work coach to book for you.")
        (r,) = self.outbound.hand_over([replace(parcel, origin=(journey, "interview"))], self.transport)
        answer = r.result if isinstance(r.result, dict) else {}
        if r.verdict.value == "done":
            return {**answer, "reference": parcel.reference}
        slug = str(answer.get("type", "")).rsplit("/", 1)[-1]
        if slug == "slot-taken":
            raise SlotTakenError(f"Someone else has booked {slot}. Choose another time.", job,
                                 list(answer.get("free_slots", [])))
        if slug in ("not-held", "unknown-slot"):
            raise BookingNotHeldError(f"{self.partner} holds no such booking for you: {answer.get('detail', '')}")
        raise PartnerUnavailableError(f"{self.partner} could not take the booking now ({r.error}); try again later")

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
        done = j.steps.get("interview")
        if done is not None and isinstance(done.result, dict) and done.result.get("starts"):
            gone = j.steps.get("interview-cancelled")
            if gone is not None and gone.status.value == "done":
                raise InvalidBookingError("you cancelled the interview booked through this plan, and the plan "
                                          "books one interview")
            raise InvalidBookingError(f"you already have an interview booked ({done.result['title']} at "
                                      f"{done.result['starts']}); cancel it from your plan if you cannot go")
        held = self._at_partner(person, j.id, "reserve", job_id, slot)
        calendar = f"{self.public_url}/v1/people/{person}/interviews/{j.id}.ics"
        booking = {"job": job["id"], "title": job["title"], "employer": job["employer"], "town": job["town"],
                   "starts": slot, "calendar": calendar, "reference": short_reference(held["reference"]),
                   "status": "booked"}
        self.publish(BOOKED, person, booking)
        return booking

    def release(self, person: str, purpose: str) -> dict[str, Any] | None:
        """Consent for the booking's purpose ended: free the slot held at the partner, tell the journey.

        Returns the cancellation, or None when nothing is held (or the partner cannot be told now;
        the partner's own retention then applies)."""
        if purpose != self.purpose or self.gate is None or self.transport is None:
            return None
        j = next((x for x in self.store.journeys_for(person)
                  if x.moment == self.moment and x.status.value == "active"), None)
        run = j.steps.get("interview") if j is not None else None
        b = run.result if run is not None and isinstance(run.result, dict) else None
        gone = j.steps.get("interview-cancelled") if j is not None else None
        org = self.store.organisation(self.partner)
        if not b or not b.get("starts") or (gone is not None and gone.status.value == "done") or org is None:
            return None
        parcel = self.gate.release(org["id"], self.partner, self.purpose, person, b["job"], b["starts"],
                                   f"interview:{j.id}:{b['job']}:{b['starts']}")
        if parcel is None:
            return None
        (r,) = self.outbound.hand_over([replace(parcel, origin=(j.id, "interview"))], self.transport)
        if r.verdict.value != "done":
            return None
        cancelled = {"job": b["job"], "title": b.get("title", ""), "employer": b.get("employer", ""),
                     "starts": b["starts"], "reference": short_reference(parcel.reference), "status": "cancelled"}
        self.publish(CANCELLED, person, cancelled)
        return cancelled

    def cancel(self, person: str, job_id: str, slot: str) -> dict[str, Any]:
        """Release a booked slot at the partner, then tell the journey. Raises BookingNotHeldError."""
        j = self._journey(person)
        job = next((x for x in self.offered(person) if x["id"] == job_id), None)
        if job is None or slot not in job.get("slots", []):
            raise BookingNotHeldError(f"you have no interview booked for job {job_id!r} at {slot!r}")
        held = self._at_partner(person, j.id, "cancel", job_id, slot)
        cancelled = {"job": job_id, "title": job["title"], "employer": job["employer"], "starts": slot,
                     "reference": short_reference(held["reference"]), "status": "cancelled"}
        self.publish(CANCELLED, person, cancelled)
        return cancelled

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
