"""``make demo``: the job-loss moment end to end, with the partners as their own processes.

A synthetic town of 5,000 people around Leeds; JobMatch with 2,000 postings; Metro
Transit's gates. Northfield reports 50 redundancies, Abe among them. Everything after
the set-up goes through the public HTTP APIs, as it would between organisations, and
Abe's timeline is printed as it happens, with the time each step took.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import httpx

from . import logs
from .bootstrap import build
from .domain.clock import iso
from .domain.ids import uuid7
from .settings import Settings
from .web.staff import DEMO_OFFICERS

ROOT = Path(__file__).resolve().parents[2]
EMPLOYER = "https://northfield.example/hr"
JOB_ENDED, JOB_STARTED = "uk.gov.dwp.employment.job-ended", "uk.gov.dwp.employment.job-started"
TOWNS = ["Leeds", "Bradford", "Wakefield", "Huddersfield", "Harrogate", "Dewsbury", "Halifax", "Castleford",
         "Pudsey", "Morley"]
GIVEN = ["Abe", "Ana", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena", "Mo"]
FAMILY = ["Ashworth", "Booth", "Clegg", "Dyson", "Ellis", "Firth", "Greenwood", "Hirst", "Iqbal", "Jowett"]
ORGS = [
    ("Northfield Manufacturing", EMPLOYER.rsplit("/", 1)[0] + "/*", ["uk.gov.dwp.employment.*"]),
    ("HMRC", "https://hmrc.example/*", ["people:write", "facts:employment"]),
    ("Citizen portal", "civic://portal", ["civic.*", "people:answer", "people:read", "consents:write",
                                          "messages:read", "messages:content", "journeys:read"]),
    ("JobMatch", "https://jobmatch.example/*", ["jobmatch.*"]),
    ("Metro Transit", "https://metro.example/*", ["transit:check"]),
    ("Leeds Register Office", "https://gro.example/*", ["uk.gov.gro.*", "registrar"]),
]
AGENCIES = ["Leeds City Council", "Electoral Registration Office", "DVLA", "NHS GP Registration", "HMRC"]
REGISTRAR = "https://gro.example/leeds"


# Settings the demo takes from its caller: where its database is (and that database's keys).
KEPT = ("CIVIC_DATABASE_URL", "CIVIC_PSEUDONYM_KEYS", "CIVIC_DATA_KEYS", "CIVIC_AUDIT_SIGNING_KEY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_market():
    sys.path.insert(0, str(ROOT))
    from partners.jobmatch.market import generate, haversine_miles, occupations, town

    market, leeds = generate("Leeds", 2000, 200, 7), town("Leeds")
    near = Counter(p.occupation for p in market.postings
                   if haversine_miles(leeds.lat, leeds.lon, p.lat, p.lon) <= 10)
    economy = [occupations()[i].label for i in market.economy]
    return economy, occupations()[near.most_common(1)[0][0]].label


# The demo's day: the story plays out on it whatever the wall clock says, so it still works next year.
DEMO_NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def seed_town(app, people: int, abe_occupation: str, economy: list[str]) -> tuple[str, list[str]]:
    """The registers' view of a town: gold facts for everyone. Returns Abe and his 49 colleagues."""
    from .adapters.store.schema import consents
    from .adapters.store.schema import people as people_table
    from .engine.registry import match_keys

    rng, store = random.Random(5), app.registry.store
    now = app.clock.now()
    older = now - timedelta(days=500)
    ids = [uuid7() for _ in range(people)]
    rows, consent_rows = [], []
    for n, pid in enumerate(ids):
        abe = n == 0
        family = rng.choice(FAMILY)
        values = {"given_name": "Abe" if abe else rng.choice(GIVEN), "family_name": "Ashworth" if abe else family,
                  "date_of_birth": "1981-03-14" if abe else f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-1{n % 9}",
                  "home_area": "Leeds" if abe else rng.choice(TOWNS), "postcode": "LS1 4AP",
                  "address_line_1": f"{rng.randint(1, 90)} Mill Street", "town": "Leeds",
                  "occupation": abe_occupation if abe else rng.choice(economy),
                  "employment_status": "employed",
                  "class1_earnings_last_year_pence": rng.randint(1_800_000, 4_200_000),
                  "class1_earnings_year_before_pence": rng.randint(1_800_000, 4_200_000)}
        if n < 50:
            values["employer"] = "Northfield Manufacturing"
        rows += [{"person_id": pid, "attribute": k, "value": v, "source": "registers", "basis": "register",
                  "tier": "gold", "observed_at": older, "valid_from": older, "recorded_at": now}
                 for k, v in values.items()]
        if n < 50 and n % 5 != 4:  # most of Northfield's staff agreed to share with JobMatch
            consent_rows.append({"id": uuid7(), "person_id": pid, "purpose": "employment-support",
                                 "notice_version": "2026-01", "state": "given", "at": now, "channel": "app"})
    with store.engine.begin() as conn:
        store.bulk.insert(conn, people_table, [{"id": p, "created_at": now, "merged_into": None} for p in ids])
        store.insert_facts(conn, rows)
        store.bulk.insert(conn, consents, consent_rows)
    # the blocking keys recording one by one would add, so identity review finds the town's people
    store.add_match_keys([{"key": k, "person_id": r["person_id"]} for r in rows
                          for k in match_keys(r["attribute"], r["value"])])
    return ids[0], ids[1:50]


def partner_commands(url: str, jm: int, metro: int, tokens: dict[str, str], env: dict[str, str],
                     now: str | None = None) -> list[tuple[str, list[str], dict[str, str]]]:
    """How the demo starts JobMatch and the transit gates: (name, argv, environment). Each token goes in
    the environment (JOBMATCH_TOKEN, TRANSIT_TOKEN), never on the command line, where ``ps`` shows it;
    ``now`` (ISO 8601, UTC) starts their clocks where the platform's is (JOBMATCH_NOW, TRANSIT_NOW)."""
    clocks = (lambda name: {f"{name}_NOW": now}) if now else (lambda name: {})
    return [("jobmatch", [sys.executable, "-m", "partners.jobmatch", "--port", str(jm), "--platform", url],
             {**env, "JOBMATCH_TOKEN": tokens["JobMatch"], **clocks("JOBMATCH")}),
            ("transit", [sys.executable, "-m", "partners.transit", "--port", str(metro), "--platform", url],
             {**env, "TRANSIT_TOKEN": tokens["Metro Transit"], **clocks("TRANSIT")})]


class Demo:
    def __init__(self, directory: Path, serve: bool) -> None:
        self.directory, self.serve = directory, serve
        self.procs: list[subprocess.Popen] = []
        self.agencies: AgencyInbox | None = None
        self.say = click.echo
        self.t0 = time.monotonic()

    def stamp(self, what: str, detail: str = "") -> None:
        took = time.monotonic() - self.t0
        self.say(f"  {took:7.2f} s  {click.style(what, bold=True)}{('  ' + detail) if detail else ''}")

    def wait(self, what: str, probe: Callable[[], Any], timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(0.05)
        raise click.ClickException(f"gave up waiting for {what} after {timeout:.0f} s; "
                                   f"the logs are in {self.directory}")

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.directory / f"{name}.log", "wb")  # noqa: SIM115 - closed when the process ends
        self.procs.append(subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    def run(self) -> None:
        """The demo; Ctrl-C or SIGTERM stops it, and with it every process it started (the platform, the
        partners), whatever it was doing. Its data folder is the owner's alone (0700), as ``civic``'s is."""
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            self._run()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up short
            self.stop()
            if self.agencies is not None:
                self.agencies.close()
            signal.signal(signal.SIGTERM, previous)

    def _run(self) -> None:
        if not (ROOT / "partners" / "jobmatch").is_dir():
            raise click.ClickException("the demo runs from a checkout of the repository: partners/ is missing")
        logs.configure("ERROR", json=False)
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.mkdir(mode=0o700)
        port, jm, metro = int(os.environ.get("CIVIC_PORT") or free_port()), free_port(), free_port()
        self.agencies = AgencyInbox()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_") or k in KEPT}
        env.update({"CIVIC_DATA_DIR": str(self.directory.resolve()), "CIVIC_PORT": str(port), "CIVIC_PUBLIC_URL": url,
                    "CIVIC_DEMO_MODE": "true", "CIVIC_SESSION_SECRET": os.urandom(24).hex(),
                    "CIVIC_LOG_LEVEL": "WARNING", "CIVIC_IDLE_SLEEP_SECONDS": "0.01",
                    "CIVIC_PARTNER_URLS": json.dumps({"JobMatch": f"http://127.0.0.1:{jm}/v1/profiles",
                                                      **{a: f"{self.agencies.url}/{a.split()[0].lower()}"
                                                         for a in AGENCIES}})})
        settings = Settings(data_dir=self.directory, database_url=os.environ.get("CIVIC_DATABASE_URL") or None,
                            now=DEMO_NOW)
        say = self.say
        say(click.style("Civic Moments demo: what happens when a job ends", bold=True))
        say(f"database: {settings.resolved_database_url()}")

        app = build(settings)
        tokens = {}
        for name, source, scopes in ORGS:
            _, tokens[name] = app.organisations.add(name, [source], scopes)
        app.agreements.put("jobmatch-support", "JobMatch", "employment-support",
                           ["occupation", "skills", "home_area", "aspirations", "travel_radius_miles"])
        app.agreements.put("metro-fares", "Metro Transit", "fare-concession", [], "identified", 1,
                           ["active-jobseeker"])
        for name in AGENCIES[:-1]:
            app.organisations.add(name, [f"https://{name.split()[0].lower()}.example/*"], [])
        for name in AGENCIES[:-1]:
            app.agreements.put(f"{name.split()[0].lower()}-address", name, "address-update",
                               ["address_line_1", "town", "postcode"], "identified")
        for name in ("HMRC", "DVLA", "Leeds City Council"):
            app.agreements.put(f"{name.split()[0].lower()}-tell-us-once", name, "tell-us-once",
                               ["given_name", "family_name", "date_of_birth"], "identified")
        families = seed_families(app)
        from .cli.rules import run_sweep  # the nightly sweep, catching up the days since it last ran
        run_sweep(app, DEMO_NOW.date(), DEMO_NOW.date() - timedelta(days=3), show_progress=False)
        economy, abe_job = _local_market()
        abe, colleagues = seed_town(app, 5000, abe_job, economy)
        for name, subject, organisation, roles in DEMO_OFFICERS:  # the staff console's demo sign-in lists them
            app.officers.add(name, subject, organisation, list(roles))
        tokens["Dara"] = app.officers.token("Dev Decider")  # the decision maker the story's review goes to
        tokens["Polly"] = app.officers.token("Polly Policy")  # the policy lead who reads the measures
        app.cases.open("work-coach", abe, "Welcome call: agree Abe's claimant commitment", key=f"demo-welcome:{abe}")
        env["CIVIC_NOW"] = iso(app.clock.now())  # the platform carries on from the demo's own clock
        env["CIVIC_DEMO_FEATURED"] = json.dumps([abe])  # the demo sign-in lists the story's Abe first
        app.store.close()
        say(f"town: 5,000 people around Leeds, gold facts from the registers; Abe is a {abe_job}; "
            "40 of Northfield's 50 staff agreed to share with JobMatch")

        self.spawn("civic", [sys.executable, "-m", "civicmoments.cli", "serve"], env)
        partner_env = {k: v for k, v in env.items() if not k.startswith("CIVIC_")}
        for name, port_, env_ in partner_commands(url, jm, metro, tokens, partner_env, env["CIVIC_NOW"]):
            self.spawn(name, port_, env_)
        for u in (url, f"http://127.0.0.1:{jm}", f"http://127.0.0.1:{metro}"):
            self.wait(f"{u} to start", lambda u=u: _up(u), timeout=60)
        say(f"platform {url}; JobMatch (2,000 postings) :{jm}; Metro Transit gates :{metro}")
        self.story(url, tokens, abe, colleagues, f"http://127.0.0.1:{metro}")
        self.lifetime(url, tokens, families)
        if self.serve:
            say(click.style(f"\nThe portal is running at {url}: sign in and choose 'Abe Ashworth' (listed first). "
                            f"API docs at {url}/docs.", bold=True))
            say(click.style(f"The staff console is at {url}/staff: sign in as Wanda Coach (work coach) and open "
                            "'A work coach calls' to see Abe's case. Ctrl-C stops everything.", bold=True))
            while all(p.poll() is None for p in self.procs):
                time.sleep(0.5)

    def story(self, url: str, tokens: dict[str, str], abe: str, colleagues: list[str], metro: str) -> None:
        say = self.say

        def h(org: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[org]}"}

        def messages(pid: str) -> dict[str, dict]:
            r = httpx.get(f"{url}/v1/people/{pid}/messages", params={"content": "true"}, headers=h("Citizen portal"))
            return {m["template"]: m for m in r.json()}

        def journey(pid: str, moment: str = "job-loss") -> dict | None:
            found = [j for j in httpx.get(f"{url}/v1/journeys", params={"person": pid},
                                          headers=h("Citizen portal")).json() if j["moment"] == moment]
            return httpx.get(f"{url}/v1/journeys/{found[0]['id']}", headers=h("Citizen portal")).json() \
                if found else None

        # HMRC's register hears of the leavers through payroll (RTI), the register's word is gold; the
        # employer's own report alone is silver, and an award on it would wait for the person's confirmation.
        for pid in [abe, *colleagues]:
            httpx.post(f"{url}/v1/people/{pid}/facts", headers=h("HMRC"),
                       json=[{"attribute": "employment_status", "value": "unemployed", "basis": "register"}])
        say(click.style("\nNorthfield reports 50 redundancies in one CSV; Abe's timeline:", bold=True))
        rows = ["notice_ref,person_id,reason,last_day,age,ni_years,occupation"]
        rows += [f"NF-{n:03d},{pid},redundancy,2026-11-20,45,2," for n, pid in enumerate([abe, *colleagues])]
        rows.append("NF-999,someone,redundancy,20/11/2026,45,2,")  # a row with a bad date
        self.t0 = time.monotonic()
        r = httpx.post(f"{url}/v1/events", params={"type": JOB_ENDED, "source": EMPLOYER}, content="\n".join(rows),
                       headers={**h("Northfield Manufacturing"), "Content-Type": "text/csv"})
        if "results" not in r.json():
            raise click.ClickException(f"the report was refused: {r.json().get('detail')}")
        results = r.json()["results"]
        bad = [x for x in results if x["status"] == "rejected"]
        self.stamp("report accepted", f"{len(results) - len(bad)} rows accepted; line {bad[0]['line']} "
                                      f"rejected: {bad[0]['problem']['detail']}")
        notice = self.wait("Abe's notice", lambda: messages(abe).get("notice-of-assistance"))
        first = journey(abe)["steps"]["match"]["result"]
        self.stamp("first notice", f"{notice['content']['short'][:110]}…")
        for job in first["jobs"][:3]:
            say(f"               {job['title']} at {job['employer']}, {job['town']}: {job['why']}")
        httpx.post(f"{url}/v1/people/{abe}/answers", headers=h("Citizen portal"),
                   json={"aspirations": "nurse caring for patients", "travel_radius_miles": 15,
                         "bank_account": "20-00-00 55779911"})
        self.stamp("survey answered", "aspirations, 15 miles, bank details: asked only what no register holds")
        self.wait("the revised plan", lambda: messages(abe).get("return-to-work-plan"))
        revised = journey(abe)["steps"]["rematch"]["result"]
        self.stamp("revised plan", f"{revised['options']} options, up from {first['options']}; "
                                   f"{len(revised['paths'])} training paths")
        offered = httpx.get(f"{url}/v1/people/{abe}/interviews/offered", headers=h("Citizen portal")).json()
        booked = httpx.post(f"{url}/v1/people/{abe}/interviews", headers=h("Citizen portal"),
                            json={"job": offered[0]["job"], "slot": offered[0]["slots"][0]}).json()
        if booked.get("status") != "booked":
            raise click.ClickException(f"JobMatch did not hold the interview: {booked.get('detail')}")
        self.wait("the invitation", lambda: messages(abe).get("interview-invitation"))
        self.stamp("interview booked", f"{booked['title']} at {booked['employer']}, held at JobMatch (reference "
                                       f"{booked['reference']}); invitation {booked['calendar']}")
        httpx.post(f"{url}/v1/people/{abe}/travel-tokens", json={"token": "METRO-ABE-0001"},
                   headers=h("Citizen portal"))
        tap = httpx.post(f"{metro}/v1/taps", json={"card": "METRO-ABE-0001"}).json()
        self.stamp("transit check", "active job seeker: yes, fare waived" if tap["waived"] else "fare charged")
        httpx.post(f"{url}/v1/events", headers={**h("Northfield Manufacturing"),
                                                "Content-Type": "application/cloudevents+json"},
                   json={"specversion": "1.0", "type": JOB_STARTED, "source": EMPLOYER, "id": f"S-{abe}",
                         "subject": abe, "data": {"start_date": "2026-12-01"}})
        done = self.wait("re-employment", lambda: (journey(abe) or {}).get("status") == "completed" and journey(abe))
        self.wait("the notice of the change", lambda: messages(abe).get("benefit-stop-notice"))
        case = self.wait("the review", lambda: next(iter(httpx.get(
            f"{url}/v1/cases", params={"person": abe, "queue": "decision-review", "status": "open"},
            headers=h("Dara")).json()["items"]), None))
        held = httpx.post(f"{metro}/v1/taps", json={"card": "METRO-ABE-0001"}).json()
        self.stamp("new job reported", f"journey {done['status']}; stopping the benefit goes against Abe, so it "
                                       f"waits for a decision maker (case {case['id'][:8]}); Abe is told; "
                                       f"at the gate: {'waived' if held['waived'] else 'fare charged'}")
        httpx.post(f"{url}/v1/cases/{case['id']}/resolve", headers=h("Dara"),
                   json={"outcome": "upheld", "reason": "Payroll confirms the new job", "version": case["version"]})
        self.wait("the benefit to stop", lambda: (journey(abe, "back-in-work") or {}).get("status") == "completed")
        self.wait("the decision", lambda: messages(abe).get("benefit-stop-decision"))
        self.stamp("change confirmed", "a decision maker upheld it: the benefit stopped from the start date, "
                                       "Abe was told, and his return to work counts as the moment's outcome")
        again = httpx.post(f"{metro}/v1/taps", json={"card": "METRO-ABE-0001"}).json()
        say(f"               at the gate again: {'waived' if again['waived'] else 'fare charged'}")

        say(click.style("\nEveryone in the report", bold=True))
        notices = sum(1 for pid in colleagues if "notice-of-assistance" in messages(pid))
        say(f"  {notices + 1} of 50 have a notice; those who did not agree to share were matched by a work coach")
        say(click.style("\nWho saw Abe's data (his access log)", bold=True))
        log = httpx.get(f"{url}/v1/people/{abe}/access-log", headers=h("Citizen portal")).json()
        reads = [e for e in log if e["channel"].startswith("api:")]  # the demo's own portal reads, logged too
        say(f"  ({len(reads)} reads by the Citizen portal, showing Abe his messages and journey, are logged too)")
        for e in (e for e in log if not e["channel"].startswith("api:")):
            what = e.get("check") or ", ".join(e["attributes"]) or ("interview slot (no attributes)"
                                                                      if e.get("channel") == "reservation" else "-")
            say(f"  {e['at']}  {e['organisation']:<16} {e['purpose']:<19} {e['outcome']:<9} {what}")
        month = tap.get("statement_month") or DEMO_NOW.strftime("%Y-%m")  # where the platform booked the fare
        statement = httpx.get(f"{url}/v1/chargeback/statements", params={"month": month},
                              headers=h("Metro Transit")).json()
        say(f"\nchargeback {month}: {statement['creditor']} -> {statement['debtor']}: {statement['fares']} fare(s), "
            f"£{statement['total_pence'] / 100:.2f}")
        self.measures(url, h("Polly"))

    def measures(self, url: str, headers: dict[str, str]) -> None:
        """The job-loss measures for the town, as the policy lead reads them (GET /v1/insights/job-loss)."""
        found = httpx.get(f"{url}/v1/insights/job-loss", headers=headers).json()
        if found.get("empty") or not found.get("measures"):
            self.say(f"\ninsights: {found.get('reason') or found.get('detail')}")
            return

        def shown(v: Any) -> str:
            return v["suppressed"] if isinstance(v, dict) else "none" if v is None else f"{v:g}"

        m = found["measures"]
        self.say(click.style("\nJob loss in the town, as the policy lead sees it (/staff/insights)", bold=True))
        for label, area, name in (
                ("journeys", "impact", "journeys"), ("back in work (confirmed)", "impact", "reached"),
                ("days to first notice, median", "experience", "first_notice_days_median"),
                ("questions asked per person", "experience", "questions_per_person"),
                ("awards with no application nor officer", "efficiency", "zero_touch_rate"),
                ("cases per 100 journeys", "efficiency", "cases_per_100"),
                ("cost to serve per journey, pence", "efficiency", "cost_per_journey_pence"),
                ("people who gave consent", "trust", "consents_given")):
            self.say(f"  {label:<40} {shown(m[area][name])}")
        self.say("  (a cell of fewer than 10 people is never shown)")


    def lifetime(self, url: str, tokens: dict[str, str], families: dict[str, str]) -> None:
        """The rest of a life in the same town: a birth, a 15-year-old, a move and a death."""
        say, f = self.say, families

        def h(org: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[org]}", "Content-Type": "application/cloudevents+json"}

        def messages(pid: str) -> dict[str, dict]:
            r = httpx.get(f"{url}/v1/people/{pid}/messages", params={"content": "true"}, headers=h("Citizen portal"))
            return {m["template"]: m for m in r.json()}

        def journeys(pid: str) -> list[dict]:
            return [httpx.get(f"{url}/v1/journeys/{j['id']}", headers=h("Citizen portal")).json()
                    for j in httpx.get(f"{url}/v1/journeys", params={"person": pid}, headers=h("Citizen portal")).json()]

        def send(org: str, event: dict) -> dict:
            return httpx.post(f"{url}/v1/events", headers=h(org), json={"specversion": "1.0", **event}).json()

        self.t0 = time.monotonic()
        send("Leeds Register Office", {"type": "uk.gov.gro.birth-registered", "source": REGISTRAR, "id": "GRO-B-1",
                                       "subject": f["ana"], "data": {
                                           "registration": "B-2026-1130", "date_of_birth": "2026-11-27",
                                           "given_name": "Poppy", "family_name": "Booth", "sex": "female"}})
        self.wait("the Child Benefit offer", lambda: messages(f["ana"]).get("child-benefit-offer"))
        send("Citizen portal", {"type": "civic.offer.answered", "source": "civic://portal", "id": "ANS-ana-cb",
                                "subject": f["ana"], "data": {"service": "child-benefit", "answer": "accepted"}})
        self.wait("the award", lambda: any(j["moment"] == "birth" and j["status"] == "completed"
                                           for j in journeys(f["ana"])))
        send("Citizen portal", {"type": "civic.person.address-changed", "source": "civic://portal", "id": "MOVE-eve",
                                "subject": f["eve"], "data": {"address_line_1": "4 Hyde Park Road", "town": "Leeds",
                                                              "postcode": "LS6 2AB", "moved_on": "2026-11-30",
                                                              "leave_out": ["gp"]}})
        self.wait("the move told", lambda: messages(f["eve"]).get("move-told"))
        send("Leeds Register Office", {"type": "uk.gov.gro.death-registered", "source": REGISTRAR, "id": "GRO-D-1",
                                       "subject": f["bob"], "data": {"registration": "D-2026-1129",
                                                                     "date_of_death": "2026-11-29"}})
        self.wait("the bereavement letter", lambda: messages(f["cath"]).get("bereavement-support"))
        self.wait("the teenager's offers", lambda: {"provisional-licence", "ni-number-letter"} <= set(messages(f["kai"])))
        for title, people in (("The Booths: a birth", ["ana"]), ("Kai Clegg turns 15 and 9 months", ["kai"]),
                              ("Eve Dyson moves home", ["eve"]), ("The Ellises: a death", ["bob", "cath"])):
            say(click.style(f"\n{title}", bold=True))
            for who in people:
                for j in sorted(journeys(f[who]), key=lambda j: j["started_at"]):
                    steps = ", ".join(f"{k} {v['status']}" for k, v in j["steps"].items() if v["status"] != "skipped")
                    say(f"  {who:<5} {j['moment']:<20} {j['status']:<10} {steps}")
                for m in messages(f[who]).values():
                    say(f"  {who:<5} message: {m['content']['subject']} ({m['status']})")
        told = sorted(self.agencies.received)
        say(f"\nagencies told at the wire: {', '.join(f'{a} ({n})' for a, n in told)}")
        self.stamp("lifetime", "birth, growing up, a move and a death, each told once")


class AgencyInbox:
    """The agencies' side of the wire in the demo: one local server, a path per agency, counting arrivals."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        counts: Counter = Counter()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the standard library's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                counts[self.path.strip("/")] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"received": true}')

            def log_message(self, *args):
                pass

        self.counts = counts
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def received(self) -> list[tuple[str, int]]:
        return list(self.counts.items())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def seed_families(app) -> dict[str, str]:
    """The lifetime's families, gold facts from the registers: a parent expecting, a teenager,
    someone about to move, and a couple with a child."""
    from .engine.steps import PLATFORM

    people = {
        "ana": {"given_name": "Ana", "family_name": "Booth", "date_of_birth": "1991-05-02",
                "annual_earnings_pence": 3_400_000, "email": "ana.booth@example.org"},
        "kai": {"given_name": "Kai", "family_name": "Clegg", "date_of_birth": "2011-02-28", "nation": "england",
                "email": "kai.clegg@example.org"},
        "eve": {"given_name": "Eve", "family_name": "Dyson", "date_of_birth": "1988-08-08",
                "address_line_1": "12 Mill Street", "town": "Leeds", "postcode": "LS1 4AP", "email": "eve@example.org"},
        "bob": {"given_name": "Bob", "family_name": "Ellis", "date_of_birth": "1979-01-15",
                "class1_contribution_years": 20, "email": "bob.ellis@example.org"},
        "cath": {"given_name": "Cath", "family_name": "Ellis", "date_of_birth": "1982-03-03",
                 "email": "cath.ellis@example.org"},
        "dot": {"given_name": "Dot", "family_name": "Ellis", "date_of_birth": "2017-06-01"},
    }
    ids = {}
    for key, facts in people.items():
        ids[key] = app.registry.add_person()
        app.registry.record_many(PLATFORM, [(ids[key], [{"attribute": a, "value": v, "basis": "register",
                                                         "tier": "gold", "observed_at": iso(app.clock.now() - timedelta(days=400))}
                                                        for a, v in facts.items()])])
    home = app.registry.join_household(None, ids["bob"], "partner")
    app.registry.join_household(home, ids["cath"], "partner")
    app.registry.join_household(home, ids["dot"], "child")
    return ids


def _terminated(signum, frame) -> None:
    """SIGTERM ends the demo as Ctrl-C does: through its clean-up, which stops its child processes."""
    raise SystemExit(128 + signal.SIGTERM)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def run(directory: Path = Path(".civic/demo"), serve: bool = True) -> None:
    Demo(directory, serve).run()
