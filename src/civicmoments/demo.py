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
from .engine.gate import Refusal
from .settings import Settings

EMPLOYER = "https://northfield.example/hr"
PORTAL = "civic://portal"
JOB_ENDED = "uk.gov.dwp.employment.job-ended"


def _event(type_: str, source: str, id_: str, subject: str, data: dict) -> dict:
    return {"specversion": "1.0", "type": type_, "source": source, "id": id_, "subject": subject,
            "data": data}


def run(directory: Path = Path(".civic/demo")) -> None:
    logs.configure("ERROR", json=False)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    settings = Settings(data_dir=directory, database_url=None, effects_url=None)
    clock = FakeClock(SystemClock().now().replace(microsecond=0))
    app = build(settings, clock=clock)
    say = click.echo

    def heading(text: str) -> None:
        say(click.style(f"\n{text}", bold=True))

    say(click.style("Civic Moments demo: what happens when a job ends", bold=True))
    say(f"database: {settings.resolved_database_url()}")

    # Who takes part.
    orgs = app.organisations
    hmrc, _ = orgs.add("HMRC", ["https://hmrc.example/*"], ["facts:identity", "facts:income", "facts:address"])
    employer, _ = orgs.add("Northfield Manufacturing", [EMPLOYER],
                           ["uk.gov.dwp.employment.*", "facts:employment"])
    dwp, _ = orgs.add("DWP", ["https://dwp.example/*"], ["facts:benefits"])
    orgs.add("JobMatch", ["https://jobmatch.example/*"], ["jobmatch.*"])
    orgs.add("Metro Transit", ["https://metro.example/*"], [])
    portal, _ = orgs.add("Citizen portal", [PORTAL], ["civic.*"])
    app.agreements.put("jobmatch-support", "JobMatch", "employment-support",
                       ["occupation", "skills", "home_area", "aspirations"], "pseudonymised", 90)
    app.agreements.put("metro-fares", "Metro Transit", "fare-concession", [], "identified", 1,
                       ["active-jobseeker"])

    # What government already knows.
    people = {}
    for name, given, family, dob, ni, street, pc, area, job, skills in [
        ("Ana", "Ana", "Costa", "1991-04-12", "SJ123456A", "12 Park Row", "LS1 4AP", "Leeds", "maintenance fitter",
         "hydraulics, PLC"),
        ("Ben", "Ben", "Okafor", "2003-09-30", "TN654321B", "7 Kirkstall Road", "LS6 2DT", "Leeds",
         "machine operator", "forklift"),
        ("Cara", "Cara", "Lind", "1959-01-02", "WP111111C", "3 Oak Lane", "LS8 1AA", "Leeds", "quality lead",
         "ISO 9001"),
    ]:
        pid = app.registry.add_person({"ni_number": ni, "northfield_staff": f"NF-{name.upper()}"})
        people[pid] = name
        app.registry.record(hmrc, pid, [
            {"attribute": "given_name", "value": given}, {"attribute": "family_name", "value": family},
            {"attribute": "date_of_birth", "value": dob}, {"attribute": "ni_number", "value": ni},
            {"attribute": "postcode", "value": pc}, {"attribute": "home_area", "value": area},
            {"attribute": "address_line_1", "value": street}, {"attribute": "town", "value": area}])
        app.registry.record(employer, pid, [
            {"attribute": "occupation", "value": job, "basis": "verified", "tier": "silver"},
            {"attribute": "skills", "value": skills, "basis": "verified", "tier": "silver"}])
    ana, ben, cara = list(people)
    for pid, years, earned in ((ana, 2, (2_800_000, 2_650_000)), (ben, 0, (210_000, 90_000)),
                               (cara, 2, (3_900_000, 3_800_000))):
        app.registry.record(hmrc, pid, [{"attribute": "class1_contribution_years", "value": years},
                                        {"attribute": "class1_earnings_last_year_pence", "value": earned[0]},
                                        {"attribute": "class1_earnings_year_before_pence", "value": earned[1]}])
    app.consents.give(ana, "employment-support", channel="app")
    app.messenger.set_preferences(ana, {"channels": ["inbox"]})
    app.messenger.set_preferences(ben, {"language": "cy", "offline": True, "large_print": True})
    say(f"people: {', '.join(f'{n} ({p[:13]}…)' for p, n in people.items())}; "
        "Ana has agreed to share with JobMatch, Ben has not")
    say("messages: Ana uses the portal; Ben is not online and reads Welsh in large print")

    def send(org, events) -> None:
        for r in app.intake.submit(org, events):
            line = f"  {r.status:<9} {r.id}"
            if r.problem is not None:
                line += f"  -> {r.problem.title}: {r.problem.detail}"
            say(line)

    heading("1. Northfield reports the end of four jobs")
    send(employer, [
        _event(JOB_ENDED, EMPLOYER, "N-1001", ana,
               {"reason": "redundancy", "last_day": "2026-11-20", "age": 35, "class1_contribution_years": 2}),
        _event(JOB_ENDED, EMPLOYER, "N-1002", ben,
               {"reason": "redundancy", "last_day": "2026-11-20", "age": 23, "class1_contribution_years": 0}),
        _event(JOB_ENDED, EMPLOYER, "N-1003", cara, {"reason": "retirement", "last_day": "2026-11-20", "age": 67}),
        _event(JOB_ENDED, EMPLOYER, "N-1004", "unknown-person",
               {"reason": "laid off", "last_day": "20/11/2026", "age": 41}),
    ])
    say("  ...and sends N-1001 again by mistake:")
    send(employer, [_event(JOB_ENDED, EMPLOYER, "N-1001", ana, {"reason": "redundancy", "last_day": "2026-11-20",
                                                                "age": 35, "class1_contribution_years": 2})])
    for pid in (ana, ben):
        app.registry.record(employer, pid, [{"attribute": "employment_status", "value": "unemployed",
                                             "basis": "verified", "tier": "silver"}])
    app.worker.drain()

    heading("2. Ana reads her notice in the portal, then opens the survey: asked only what nobody knows")
    (notice,) = app.messenger.of_person(ana, reveal=True)
    say(f"  notice: {notice['content']['subject']!r}: {notice['content']['short']}")
    app.messenger.read(ana, notice["id"])
    plan = app.questions.plan(ana, "return-to-work-survey")
    say(f"  known: {', '.join(k['attribute'] for k in plan['known']) or 'nothing'}")
    say(f"  asked: {', '.join(a['attribute'] for a in plan['ask'])}")
    answers = {"aspirations": "maintenance engineer", "travel_radius_miles": 10}
    app.questions.answer(ana, answers)
    send(portal, [_event("civic.person.answered", PORTAL, "answer-ana-1", ana, {"answers": answers})])
    app.worker.drain()
    app.registry.record(dwp, ana, [{"attribute": "jsa_claimant", "value": True}])

    heading("3. Ana taps in at the transit gate: Metro asks yes or no, and learns nothing else")
    (answer,) = app.gate.check(orgs.store.organisation("Metro Transit")["id"], "fare-concession", [ana],
                               "active-jobseeker")
    say(f"  active job seeker? {'yes' if answer is True else answer}: fare waived")

    heading("4. What the rules say (OpenFisca), with the reasons")
    today = clock.now().date()
    mine = app.services.for_person(ana, today)
    for e in mine["eligible"]:
        amount = f"£{e['amount']:.2f} a {e['per']}" if "amount" in e else e["delivery"]
        say(f"  Ana can get {e['name']} ({amount})")
    for e in mine["becoming_eligible"]:
        say(f"  Ana will be able to get {e['name']} from {e['from']}")
    refusal = app.services.explain(ben, "jsa-new-style", today)
    say(f"  Ben and New Style JSA: {refusal.status}"
        + (" (a refusal: a person reviews it before it is final)" if refusal.adverse else ""))
    for line in refusal.explanation.splitlines():
        if line.startswith("- ") and ": no" in line:  # the conditions not met
            say(f"    because {line[2:]}")
    say(f"    law: {'; '.join(refusal.references[:3])}")
    from .cli import run_sweep

    swept = run_sweep(app, today + timedelta(days=365), today, show_progress=False)
    say(f"  the digital-lifetime sweep over the next year: {swept['milestones']} milestone(s), "
        f"{swept['eligibility']} eligibility change(s) for {swept['people']} people")

    heading("5. Fifteen days pass. Ben has not answered, so his deadline passes")
    clock.advance(timedelta(days=15))
    app.worker.drain()

    heading("6. Ana starts a new job: the objective is reached")
    send(employer, [_event("uk.gov.dwp.employment.job-started", EMPLOYER, "S-2001", ana,
                           {"start_date": clock.now().date().isoformat()})])
    app.registry.record(employer, ana, [{"attribute": "employment_status", "value": "employed",
                                         "basis": "verified", "tier": "silver"}])
    app.worker.drain()

    heading("Timelines")
    for j in app.store.journeys_for():
        found = app.store.journey(j.id)
        say(f"\n{people.get(j.person, j.person)}: journey {j.id} ({j.moment}) is "
            + click.style(j.status.value, bold=True))
        for t in found["timeline"]:
            step = f"[{t['step']}]" if t["step"] else ""
            detail = ", ".join(f"{k}={v}" for k, v in t["detail"].items() if k not in ("effect", "event"))
            say(f"  {iso(t['at'])}  {t['kind']:<20} {step:<12} {detail}")

    heading("Messages and their channels (nobody is left out for not being online)")
    from .cli import print_messages

    for pid in (ana, ben):
        say(f"{people[pid]}:")
        print_messages(app.messenger.of_person(pid), with_content=False)
    say(f"  letters for the printer: {settings.resolved_letters_dir()}")

    heading("Effects performed (each once, by idempotency key)")
    for row in app.store.deliveries():
        to = f"to {row['payload']['spec']['with']} as {row['payload']['subject'][:16]}…" \
            if row["kind"] == "share" else ""
        say(f"  {row['kind']:<10} {row['step']:<10} {people.get(row['person'], 'pseudonym'):<10} {to}")
    for dead in app.store.dead_letters():
        say(f"  not done  {dead['key'].split(':')[1]:<10} {dead['last_error']}")

    heading("Who looked at Ana's data (her access log)")
    names = {o["id"]: o["name"] for o in orgs.list()}
    for e in reversed(app.registry.store.log_for(ana)):
        what = e.get("check") or ", ".join(e.get("attributes", [])) or "-"
        say(f"  {e['at']}  {names.get(e['recipient'], e['recipient']):<14} {e['purpose']:<19} "
            f"{e['outcome']:<9} {what}")
    refused = [e for e in app.registry.store.log_for(ben) if e["outcome"] == "refused"]
    for e in refused:
        say(f"  Ben: share to {names[e['recipient']]} refused ({e['rule']}): {e['reason']}")

    checkpoint = app.audit.checkpoint()
    report = app.audit.verify()
    say(f"\naccess log: {report.entries} entries, signed checkpoint at {checkpoint[0] if checkpoint else '-'}, "
        + ("intact" if report.intact else f"PROBLEMS: {report.problems}"))
    counts = app.store.counts()
    say(f"events: {counts['events']}  journeys: {counts['journeys']}  effects: {counts['effects']}")
    assert not any(isinstance(a, Refusal) for a in [answer])
