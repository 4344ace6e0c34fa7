"""The transit authority pushes back over the wire: its back office records a disputed fare
against the pseudonym it was given for the fare concession, publishes `metro.fare-disputed`,
and the platform re-identifies it and opens a case in the authority's `fare-dispute` queue.

The platform serves its real API; the transit partner is its own process
(`python -m partners.transit`). A pseudonym given to another organisation, or never given,
is refused naming /subject, and no case opens.
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from civicmoments.api.app import create_app

from ..conftest import ROOT, make_app
from ..people import known
from .test_partner_push_back_wire import free_port, serve

PURPOSE = "fare-concession"
DISPUTE = {"fare_pence": 280, "travelled_on": "2026-11-27", "station": "Leeds",
           "reason": "My card was registered for the concession but the gate charged me at Leeds"}


def test_a_disputed_fare_published_by_the_transit_partner_opens_a_case(db_url, clock):
    app = make_app(db_url, clock)
    metro, token = app.organisations.add("Metro Transit", ["https://metro.example/*"], ["metro.*", "transit:check"])
    other, _ = app.organisations.add("Other Transit", ["https://other.example/*"], ["metro.*"])
    for name in ("Metro Transit", "Other Transit"):  # each is given pseudonyms for the concession, its own
        app.agreements.put(f"{name.split()[0].lower()}-fare-disputes", name, PURPOSE, ["given_name"])
    pia = known(app, given_name="Pia")
    (given,) = app.gate.disclose(metro.id, PURPOSE, [pia], ["given_name"])
    (theirs,) = app.gate.disclose(other.id, PURPOSE, [pia], ["given_name"])
    assert given.subject != pia and theirs.subject != given.subject
    platform_port, transit_port = free_port(), free_port()
    platform = serve(create_app(app), platform_port)
    transit = subprocess.Popen([sys.executable, "-m", "partners.transit", "--port", str(transit_port),
                                "--platform", f"http://127.0.0.1:{platform_port}", "--token", token],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{transit_port}"
    try:
        for _ in range(300):
            assert transit.poll() is None, transit.stderr.read().decode()[-2000:]
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        r = httpx.post(f"{url}/v1/disputes", json={"subject": given.subject, **DISPUTE}, timeout=30)
        assert r.status_code == 202, r.text
        reference = r.json()["dispute"]
        assert r.json()["platform"]["status"] == "accepted"
        refused = []
        for subject in (theirs.subject, "not-a-pseudonym", pia):  # another's, made up, the platform's own id
            bad = httpx.post(f"{url}/v1/disputes", json={"subject": subject, **DISPUTE}, timeout=30)
            assert bad.status_code == 422, bad.text
            problem = bad.json()["platform"]
            assert problem["type"].endswith("/unknown-pseudonym") and problem["errors"][0]["pointer"] == "/subject"
            assert pia not in bad.text
            refused.append(bad.json()["dispute"])
        no_reason = httpx.post(f"{url}/v1/disputes", json={"subject": given.subject, "fare_pence": 280,
                                                           "travelled_on": "2026-11-27"}, timeout=30)
        assert no_reason.status_code == 422 and "reason" in no_reason.text
    finally:
        platform.should_exit = True
        transit.terminate()
        transit.wait(20)
    while app.worker.run_once():
        pass
    (case,) = app.cases.list(person=pia)
    assert case.queue == "fare-dispute" and case.organisation == "metro-transit"
    assert case.reason.startswith("The transit authority reports a disputed fare")
    assert case.data["request"] == {"dispute": reference, **DISPUTE}
    (journey,) = [j for j in app.store.journeys_for(pia) if j.moment == "fare-dispute"]
    assert journey.status == "completed"
    assert app.cases.list(queue="fare-dispute") == [case]  # the refused ones opened nothing
    app.store.close()
