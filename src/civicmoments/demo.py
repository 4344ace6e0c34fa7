"""``make demo``: the back-to-work moment, end to end, on a fresh embedded database.

Time is simulated (a fake clock), so a 14-day deadline passes in an instant.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import click

from . import logs
from .bootstrap import build
from .domain.clock import FakeClock, SystemClock, iso
from .settings import Settings

EMPLOYER = "https://northfield.example/hr"
PORTAL = "civic://portal"


def _event(type_: str, source: str, id_: str, subject: str, data: dict) -> dict:
    return {"specversion": "1.0", "type": type_, "source": source, "id": id_, "subject": subject,
            "data": data}


def run(directory: Path = Path(".civic/demo")) -> None:
    logs.configure("WARNING", json=False)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    settings = Settings(data_dir=directory, database_url=None, effects_url=None)
    clock = FakeClock(SystemClock().now().replace(microsecond=0))
    app = build(settings, clock=clock)
    say = click.echo

    say(click.style("Civic Moments demo: what happens when a job ends", bold=True))
    say(f"database: {settings.resolved_database_url()}\n")
    employer, _ = app.organisations.add("Northfield Manufacturing", [EMPLOYER], ["uk.gov.dwp.employment.*"])
    portal, _ = app.organisations.add("Citizen portal", [PORTAL], ["civic.*"])

    def send(org, events) -> None:
        for r in app.intake.submit(org, events):
            line = f"  {r.status:<9} {r.id}"
            if r.problem is not None:
                line += f"  -> {r.problem.title}: {r.problem.detail}"
            say(line)

    def settle() -> None:
        app.worker.drain()

    say("1. Northfield reports the end of four jobs:")
    send(employer, [
        _event("uk.gov.dwp.employment.job-ended", EMPLOYER, "N-1001", "person-ana",
               {"reason": "redundancy", "last_day": "2026-11-20", "age": 34, "class1_contribution_years": 2}),
        _event("uk.gov.dwp.employment.job-ended", EMPLOYER, "N-1002", "person-ben",
               {"reason": "redundancy", "last_day": "2026-11-20", "age": 22, "class1_contribution_years": 0}),
        _event("uk.gov.dwp.employment.job-ended", EMPLOYER, "N-1003", "person-cara",
               {"reason": "retirement", "last_day": "2026-11-20", "age": 67}),
        _event("uk.gov.dwp.employment.job-ended", EMPLOYER, "N-1004", "person-dev",
               {"reason": "laid off", "last_day": "20/11/2026", "age": 41}),
    ])
    say("   ...and sends N-1001 again by mistake:")
    send(employer, [_event("uk.gov.dwp.employment.job-ended", EMPLOYER, "N-1001", "person-ana",
                           {"reason": "redundancy", "last_day": "2026-11-20", "age": 34,
                            "class1_contribution_years": 2})])
    settle()

    say("\n2. Ana answers the survey on her phone.")
    send(portal, [_event("civic.person.answered", PORTAL, "answer-ana-1", "person-ana",
                         {"answers": {"aspirations": "maintenance engineer", "travel_radius_miles": 10}})])
    settle()

    say("\n3. Fifteen days pass. Ben has not answered, so his deadline passes.")
    clock.advance(timedelta(days=15))
    settle()

    say("\n4. Ana starts a new job: the objective is reached.")
    send(employer, [_event("uk.gov.dwp.employment.job-started", EMPLOYER, "S-2001", "person-ana",
                           {"start_date": (clock.now().date()).isoformat()})])
    settle()

    say(click.style("\nTimelines", bold=True))
    for j in app.store.journeys_for():
        found = app.store.journey(j.id)
        say(f"\n{j.person}: journey {j.id} ({j.moment}) is {click.style(j.status.value, bold=True)}")
        for t in found["timeline"]:
            step = f"[{t['step']}]" if t["step"] else ""
            detail = ", ".join(f"{k}={v}" for k, v in t["detail"].items())
            say(f"  {iso(t['at'])}  {t['kind']:<18} {step:<13} {detail}")
    say(click.style("\nEffects performed (once each, by idempotency key)", bold=True))
    for row in app.store.deliveries():
        say(f"  {row['kind']:<10} {row['step']:<10} {row['person']:<12} {row['key']}")
    counts = app.store.counts()
    say(f"\nevents: {counts['events']}  journeys: {counts['journeys']}  effects: {counts['effects']}")
