"""Authority of senders over HTTP: only a person's employer may report their job ending or starting,
and an event for someone the registry does not know waits in a verification case."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.engine.authority import Authority
from civicmoments.packs.authority import AuthorityRule, AuthorityRules, Relationship

from ..conftest import make_app
from ..people import known

STARTED, ENDED = "uk.gov.dwp.employment.job-started", "uk.gov.dwp.employment.job-ended"
CE = {"Content-Type": "application/cloudevents+json"}


@pytest.fixture
def world(db_url, clock):
    app = make_app(db_url, clock)
    tokens = {}
    for name, source in [("Northfield Manufacturing", "https://northfield.example/*"),
                         ("Rogue Ltd", "https://rogue.example/*")]:
        _, token = app.organisations.add(name, [source], ["uk.gov.dwp.employment.*"])
        tokens[name] = {"Authorization": f"Bearer {token}"}
    abe = known(app, employer="Northfield Manufacturing", jsa_claimant=True, employment_status="unemployed")
    yield TestClient(create_app(app)), app, tokens, abe
    app.store.close()


def started(subject: str, ident: str, source: str = "https://northfield.example/hr") -> dict:
    return {"specversion": "1.0", "type": STARTED, "source": source, "id": ident, "subject": subject,
            "data": {"start_date": "2026-12-01"}}


def test_an_unrelated_organisations_job_started_is_refused_and_changes_nothing(world, capsys):
    import structlog

    from civicmoments.engine import authority

    client, app, tokens, abe = world
    structlog.reset_defaults()  # log to this test's captured output, whatever earlier tests configured
    authority.log.__dict__.pop("bind", None)
    r = client.post("/v1/events", json=started(abe, "r1", "https://rogue.example/hr"),
                    headers={**tokens["Rogue Ltd"], **CE})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "https://civicmoments.org/problems/sender-not-related"
    assert "Rogue Ltd" in body["detail"] and "employer" in body["detail"]
    app.worker.drain()
    assert app.store.journeys_for(abe) == []
    assert app.store.counts()["events"] == {}  # nothing reached the inbox
    assert app.registry.profile(abe)["jsa_claimant"].value is True
    line = next(x for x in capsys.readouterr().out.splitlines() if "sender not related" in x)
    assert abe in line and "r1" in line and "Abe" not in line  # ids only


def test_the_employers_own_job_started_is_accepted(world):
    client, app, tokens, abe = world
    r = client.post("/v1/events", json=started(abe, "s1"), headers={**tokens["Northfield Manufacturing"], **CE})
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    app.worker.drain()
    assert [j.moment for j in app.store.journeys_for(abe)] == ["back-in-work"]


def test_an_unknown_subject_waits_in_a_verification_case_and_starts_no_journey(world):
    client, app, tokens, _ = world
    event = {"specversion": "1.0", "type": ENDED, "source": "https://northfield.example/hr", "id": "n-x",
             "subject": "someone-nobody-knows", "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 40}}
    r = client.post("/v1/events", json=event, headers={**tokens["Northfield Manufacturing"], **CE})
    assert r.status_code == 202 and r.json()["status"] == "held"
    (case,) = app.cases.list(queue="verification")
    assert (r.json()["case"], case.person, case.data["rule"]) == (case.id, "someone-nobody-knows", "unknown-subject")
    again = client.post("/v1/events", json=event, headers={**tokens["Northfield Manufacturing"], **CE})
    assert again.json()["case"] == case.id and len(app.cases.list(queue="verification")) == 1
    app.worker.drain()
    assert app.store.journeys_for("someone-nobody-knows") == []
    assert app.store.counts()["events"] == {}
    assert app.messenger.of_person("someone-nobody-knows") == []


def test_a_subject_given_by_national_insurance_number_is_resolved_to_the_person(world):
    client, app, tokens, _ = world
    bea = app.registry.add_person({"ni_number": "AB123456C"})
    known(app, bea, employer="Northfield Manufacturing")
    r = client.post("/v1/events", json=started("AB123456C", "s2"), headers={**tokens["Northfield Manufacturing"], **CE})
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    app.worker.drain()
    assert [j.moment for j in app.store.journeys_for(bea)] == ["back-in-work"]
    assert app.store.journeys_for("AB123456C") == []


def test_a_csv_row_for_someone_elses_employee_is_refused_alone_with_its_row(world):
    client, app, tokens, abe = world
    other = known(app, employer="Rogue Ltd")
    csv = ("notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"
           f"NF-1,{abe},redundancy,2026-01-02,45,2,welder\n"
           f"NF-2,{other},redundancy,2026-01-02,45,2,welder\n")
    r = client.post("/v1/events", params={"type": ENDED, "source": "https://northfield.example/hr"}, content=csv,
                    headers={**tokens["Northfield Manufacturing"], "Content-Type": "text/csv"})
    assert r.status_code == 207
    mine, theirs = r.json()["results"]
    assert (mine["status"], mine["id"]) == ("accepted", "NF-1")
    assert (theirs["status"], theirs["index"], theirs["id"]) == ("rejected", 1, "NF-2")
    assert theirs["problem"]["status"] == 403 and theirs["problem"]["type"].endswith("/sender-not-related")
    app.worker.drain()
    assert [j.moment for j in app.store.journeys_for(abe)] == ["job-loss"]
    assert app.store.journeys_for(other) == []


def test_where_the_pack_says_so_an_unrelated_report_waits_for_verification_instead(world):
    client, app, tokens, abe = world
    rule = AuthorityRule(STARTED, Relationship("employer", "the person's employer", "employer"), "verification")
    app.intake.authority = Authority(AuthorityRules({STARTED: rule}), app.registry.store, app.resolver, app.cases)
    r = client.post("/v1/events", json=started(abe, "r2", "https://rogue.example/hr"),
                    headers={**tokens["Rogue Ltd"], **CE})
    assert r.status_code == 202 and r.json()["status"] == "held"
    (case,) = app.cases.list(queue="verification", person=abe)
    assert case.data["rule"] == "no-relationship" and case.data["event"]["id"] == "r2"
    app.worker.drain()
    assert app.store.journeys_for(abe) == []
