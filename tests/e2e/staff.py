"""A real `civic serve` in demo mode with the demo officers, and officers signing in over HTTP
through the demo identity provider exactly as a browser does (OpenID Connect with PKCE)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from civicmoments.bootstrap import build
from civicmoments.settings import Settings
from civicmoments.web.staff import DEMO_OFFICERS

from .conftest import CIVIC, civic_env, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
ORGS = [("Northfield", "https://northfield.example/*", ["uk.gov.dwp.employment.*"]),
        ("HMRC", "https://hmrc.example/*", ["people:write", "facts:identity", "facts:income", "facts:address",
                                            "facts:employment", "facts:contact"]),
        ("Metro Transit", "https://metro.example/*", ["metro.*"])]
SUBJECTS = {roles[0]: subject for _, subject, _, roles in DEMO_OFFICERS if subject != "demo-decision-maker-2"}


@dataclass
class Console:
    url: str
    env: dict[str, str]
    tokens: dict[str, str]
    officer_tokens: dict[str, str] = field(default_factory=dict)  # OpenID subject -> API bearer token
    seeded: dict = field(default_factory=dict)  # what `seed` returned
    procs: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(timeout=10)

    def person(self, name: str, **facts) -> str:
        """A person the registers know (gold facts from HMRC)."""
        hmrc = {"Authorization": f"Bearer {self.tokens['HMRC']}"}
        pid = httpx.post(f"{self.url}/v1/people", json={}, headers=hmrc).json()["id"]
        given, family = name.split(" ", 1)
        base = {"given_name": given, "family_name": family, "date_of_birth": "1981-03-14", "home_area": "Leeds",
                "employer": "Northfield",  # only a person's employer may report their job ending
                "postcode": "LS1 4AP", "occupation": "welder", "skills": "arc welding",
                "class1_earnings_last_year_pence": 3_100_000, "class1_earnings_year_before_pence": 2_950_000}
        httpx.post(f"{self.url}/v1/people/{pid}/facts", headers=hmrc,
                   json=[{"attribute": k, "value": v} for k, v in {**base, **facts}.items()]).raise_for_status()
        return pid

    def redundancy(self, pid: str) -> None:
        event = {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                 "source": "https://northfield.example/hr", "id": f"N-{pid}", "subject": pid,
                 "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 45}}
        httpx.post(f"{self.url}/v1/events", json=event, headers={
            "Authorization": f"Bearer {self.tokens['Northfield']}",
            "Content-Type": "application/cloudevents+json"}).raise_for_status()


def start(tmp: Path, seed=None, **extra: str) -> Console:
    """Seed organisations and the demo officers (and whatever `seed(app)` adds), then serve the
    platform in demo mode."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = civic_env(tmp, CIVIC_PORT=str(port), CIVIC_PUBLIC_URL=url, CIVIC_DEMO_MODE="true",
                    CIVIC_SESSION_SECRET="staff-test-secret", **extra)
    app = build(Settings(data_dir=tmp, demo_mode=True))
    tokens = {name: app.organisations.add(name, [source], scopes)[1] for name, source, scopes in ORGS}
    officer_tokens = {}
    for name, subject, organisation, roles in DEMO_OFFICERS:
        app.officers.add(name, subject, organisation, list(roles))
        officer_tokens[subject] = app.officers.token(name)
    seeded = seed(app) if seed else {}
    app.store.close()
    console = Console(url, env, tokens, officer_tokens, seeded)
    log = (tmp / "serve.log").open("wb")  # kept beside the data, for when a test fails
    console.procs.append(subprocess.Popen([*CIVIC, "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    wait_for(lambda: _up(url), timeout=60)
    return console


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def sign_in(url: str, subject: str, client: httpx.Client | None = None) -> httpx.Client:
    """An HTTP client signed in to the staff console as the officer with this OpenID subject."""
    c = client or httpx.Client(base_url=url, timeout=30)
    start = c.get("/staff/sign-in")
    assert start.status_code == 302, start.text
    q = {k: v[0] for k, v in parse_qs(urlparse(start.headers["location"]).query).items()}
    assert q["client_id"] == "civic-staff"
    chosen = c.post("/demo-idp/authorize", data={**{k: q.get(k, "") for k in (
        "redirect_uri", "state", "nonce", "code_challenge", "client_id")}, "sub": subject})
    back = c.get(chosen.headers["location"])
    assert back.status_code == 303 and back.headers["location"] == "/staff/queues", back.text[:500]
    return c


def csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
