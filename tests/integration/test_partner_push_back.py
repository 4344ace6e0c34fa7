"""A partner tells the platform something later, about someone it knows only by pseudonym.

JobMatch was given a pseudonym when it matched a person; days later it finds a new job and
sends `jobmatch.job-found` with that pseudonym as the subject. The platform re-identifies it
(only the platform can), and the person hears of the job. A pseudonym it was never given, or
one given to another organisation, is refused naming /subject.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known

PURPOSE = "employment-support"
CE = {"Content-Type": "application/cloudevents+json"}


@pytest.fixture
def world(db_url, clock):
    app = make_app(db_url, clock)
    tokens = {}
    for name, source, scopes in [("JobMatch", "https://jobmatch.example/*", ["jobmatch.*"]),
                                 ("Other", "https://other.example/*", ["jobmatch.*"])]:
        org, token = app.organisations.add(name, [source], scopes)
        tokens[name] = {"Authorization": f"Bearer {token}", **CE, "id": org.id}
    for name in ("JobMatch", "Other"):
        app.agreements.put(f"{name.lower()}-support", name, PURPOSE, ["occupation"])
    yield TestClient(create_app(app)), app, tokens
    app.store.close()


def pseudonym_for(app, org_id: str, person: str) -> str:
    """Share once, as the job-loss moment's match step does: the partner now knows the pseudonym."""
    (release,) = app.gate.disclose(org_id, PURPOSE, [person], ["occupation"])
    return release.subject


def found(subject: str, ident: str = "JF-1", **data) -> dict:
    return {"specversion": "1.0", "type": "jobmatch.job-found", "source": "https://jobmatch.example/push",
            "id": ident, "subject": subject,
            "data": {"job": "P-0042", "title": "Head of Midwifery", "employer": "Leeds Teaching Hospitals",
                     "town": "Leeds", "why": "you said you would like to lead a team", **data}}


def test_a_new_job_reaches_the_person_the_pseudonym_stands_for(world):
    client, app, tokens = world
    abe = known(app, given_name="Abe", occupation="midwife")
    app.consents.give(abe, PURPOSE)
    pseudonym = pseudonym_for(app, tokens["JobMatch"]["id"], abe)
    assert pseudonym != abe
    r = client.post("/v1/events", headers=tokens["JobMatch"], json=found(pseudonym))
    assert r.status_code == 202, r.text
    while app.worker.run_once():
        pass
    (journey,) = [j for j in app.store.journeys_for(abe) if j.moment == "new-job"]
    told = [m for m in app.messenger.of_person(abe, reveal=True) if m["template"] == "job-from-partner"]
    assert len(told) == 1 and journey.status == "completed"
    text = str(told[0])
    assert "Head of Midwifery at Leeds Teaching Hospitals" in text and "lead a team" in text
    again = client.post("/v1/events", headers=tokens["JobMatch"], json=found(pseudonym))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"  # sent twice, told once


def test_a_pseudonym_never_given_or_given_to_another_is_refused_naming_the_subject(world):
    client, app, tokens = world
    abe = known(app)
    app.consents.give(abe, PURPOSE)
    theirs = pseudonym_for(app, tokens["Other"]["id"], abe)
    for subject in (theirs, "not-a-pseudonym", abe):  # another's, made up, and the platform's own id
        r = client.post("/v1/events", headers=tokens["JobMatch"], json=found(subject, ident=f"JF-{subject[:8]}"))
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["type"].endswith("/unknown-pseudonym") and problem["errors"][0]["pointer"] == "/subject"
        assert abe not in r.text
    assert [j for j in app.store.journeys_for(abe) if j.moment == "new-job"] == []
