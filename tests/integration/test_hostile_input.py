"""Hostile and broken input at intake, on SQLite and PostgreSQL: a 4xx problem every time, nothing lost,
the good events of a batch accepted beside the bad one."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicmoments.adapters.store.schema import inbox
from civicmoments.api.app import create_app

from ..conftest import make_app
from ..people import known

JOB_ENDED = "uk.gov.dwp.employment.job-ended"
SOURCE = "https://northfield.example/hr"
DATA = {"reason": "redundancy", "last_day": "2026-01-02", "age": 30, "class1_contribution_years": 2}
BATCH = "application/cloudevents-batch+json"
STRUCTURED = "application/cloudevents+json"
PROBLEM = "application/problem+json"


@pytest.fixture
def intake(db_url, clock):
    app = make_app(db_url, clock)
    _, token = app.organisations.add("Northfield", ["https://northfield.example/*"], ["uk.gov.dwp.employment.*"])
    for n in range(4):  # the good events' people work for Northfield
        known(app, f"p-{n}", employer="Northfield")
    _, portal = app.organisations.add("Portal", ["civic://portal"], ["civic.*"])
    client = TestClient(create_app(app))
    client.headers["Authorization"] = f"Bearer {token}"
    yield app, client, portal
    app.store.close()


def event(n: int, **attrs) -> dict:
    return {"specversion": "1.0", "type": JOB_ENDED, "source": SOURCE, "id": f"n-{n}", "subject": f"p-{n}",
            "data": DATA, **attrs}


def stored(app) -> set[str]:
    with app.store.engine.connect() as conn:
        return set(conn.execute(select(inbox.c.event_id)).scalars())


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


BAD_EVENTS = {  # name: (the bad event as JSON text, the problem type it must get)
    "lone surrogate in data": ('{"specversion":"1.0","type":"%s","source":"%s","id":"bad","subject":"p-bad",'
                               '"data":{"reason":"redundancy","last_day":"2026-01-02","age":30,'
                               '"occupation":"\\ud800"}}' % (JOB_ENDED, SOURCE), "unstorable-text"),
    "integer of 10^30": (json.dumps(event(0, id="bad", data={**DATA, "age": 10**30})), "number-out-of-range"),
    "NUL in data": (json.dumps(event(0, id="bad", data={**DATA, "occupation": "fit\u0000ter"})), "unstorable-text"),
    "NUL in subject": (json.dumps(event(0, id="bad", subject="p\u0000x")), "unstorable-text"),
    "subject over 300": (json.dumps(event(0, id="bad", subject="p" * 301)), "value-too-long"),
    "id over 500": (json.dumps(event(0, id="b" * 501)), "value-too-long"),
    "source over 500": (json.dumps(event(0, id="bad", source=SOURCE + "/" + "s" * 480)), "value-too-long"),
    "year one at +14:00": (json.dumps(event(0, id="bad", time="0001-01-01T00:00:00+14:00")),
                           "event-time-out-of-range"),
    "year one": (json.dumps(event(0, id="bad", time="0001-01-01T00:00:00Z")), "event-time-out-of-range"),
}


@pytest.mark.parametrize("name", list(BAD_EVENTS))
def test_a_batch_of_good_good_bad_accepts_the_good_and_refuses_the_bad_alone(intake, name):
    app, client, _ = intake
    bad, problem = BAD_EVENTS[name]
    body = f"[{json.dumps(event(1))}, {json.dumps(event(2))}, {bad}]"
    r = client.post("/v1/events", content=body.encode("utf-8", "surrogatepass"), headers={"Content-Type": BATCH})
    assert r.status_code == 207, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "accepted", "rejected"]
    assert results[2]["problem"]["type"].endswith(f"/{problem}")
    assert stored(app) == {"n-1", "n-2"}
    alone = client.post("/v1/events", content=bad.encode("utf-8", "surrogatepass"),
                        headers={"Content-Type": STRUCTURED})
    assert alone.status_code == 422 and alone.headers["content-type"] == PROBLEM
    assert alone.json()["type"].endswith(f"/{problem}")
    assert stored(app) == {"n-1", "n-2"}


def test_nesting_deeper_than_the_limit_in_open_data_refuses_that_event_only(intake):
    app, client, portal = intake
    deep = json.loads(nested(300))
    events = [{"specversion": "1.0", "type": "civic.consent.given", "source": "civic://portal", "id": f"c-{n}",
               "subject": "p-1", "data": {"purpose": "employment-support", **({"extra": deep} if n == 3 else {})}}
              for n in (1, 2, 3)]
    r = client.post("/v1/events", content=json.dumps(events),
                    headers={"Content-Type": BATCH, "Authorization": f"Bearer {portal}"})
    assert r.status_code == 207
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "accepted", "rejected"]
    assert results[2]["problem"]["type"].endswith("/nesting-too-deep")
    assert "32 levels" in results[2]["problem"]["detail"]
    assert stored(app) == {"c-1", "c-2"}


@pytest.mark.parametrize("where", ["whole body", "batch", "inside data"])
def test_a_hundred_thousand_nested_arrays_get_a_problem_naming_the_limit(intake, where):
    app, client, _ = intake
    body = {"whole body": nested(100_000),
            "batch": f"[{json.dumps(event(1))}, {nested(100_000)}]",
            "inside data": f'[{json.dumps(event(1))}, {json.dumps(event(2))[:-1]}, "x": {nested(100_000)}}}]'}[where]
    ctype = STRUCTURED if where == "whole body" else BATCH
    r = client.post("/v1/events", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/nesting-too-deep") and "32 levels" in r.json()["detail"]
    assert stored(app) == set()  # the request could not be read, so nothing in it was taken


def csv_body(*rows: str) -> str:
    return "notice_ref,person_id,reason,last_day,age,ni_years,occupation\n" + "".join(r + "\n" for r in rows)


def test_a_csv_cell_over_the_parsers_limit_refuses_that_row_only_with_the_limit(intake):
    app, client, _ = intake
    body = csv_body("N-1,p-1,redundancy,2026-01-02,45,2,fitter", "N-2,p-2,redundancy,2026-01-02,45,2," + "x" * 131_073)
    r = client.post(f"/v1/events?type={JOB_ENDED}&source={SOURCE}", content=body,
                    headers={"Content-Type": "text/csv"})
    assert r.status_code == 207
    good, bad = r.json()["results"]
    assert (good["status"], bad["status"], bad["line"]) == ("accepted", "rejected", 3)
    assert bad["problem"]["type"].endswith("/malformed-csv-row") and "131072" in bad["problem"]["detail"]
    assert stored(app) == {"N-1"}


def test_nul_in_a_csv_cell_refuses_that_row_only(intake):
    app, client, _ = intake
    body = csv_body("N-1,p-1,redundancy,2026-01-02,45,2,fitter", "N-2,p-2,redundancy,2026-01-02,45,2,fit\x00ter",
                    "N-3,p-3,redundancy,2026-01-02,45,2,driver")
    r = client.post(f"/v1/events?type={JOB_ENDED}&source={SOURCE}", content=body,
                    headers={"Content-Type": "text/csv"})
    assert r.status_code == 207
    assert [x["status"] for x in r.json()["results"]] == ["accepted", "rejected", "accepted"]
    assert r.json()["results"][1]["problem"]["type"].endswith("/unstorable-text")
    assert stored(app) == {"N-1", "N-3"}


@pytest.mark.parametrize("value, problem", [
    ('{"identifiers": {"nino": "\\ud800"}}', "unstorable-text"),
    ('{"identifiers": {"nino": "AB\\u0000"}}', "unstorable-text"),
    ('{"identifiers": {"nino": 1000000000000000000000000000000}}', "number-out-of-range"),
    (nested(100_000), None),
])
def test_other_json_bodies_are_bounded_too(intake, value, problem):
    app, client, _ = intake
    r = client.post("/v1/people", content=value, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == PROBLEM, r.text
    if problem:
        assert r.json()["type"].endswith(f"/{problem}")


def test_the_frameworks_own_errors_are_problems(intake):
    _, client, _ = intake
    missing = client.get("/v1/no-such-thing")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["type"].endswith("/not-found")
    wrong = client.delete("/v1/events")
    assert wrong.status_code == 405 and wrong.json()["type"].endswith("/method-not-allowed")
    invalid = client.post("/v1/people", content="{not json", headers={"Content-Type": "application/json"})
    assert invalid.status_code in (400, 422) and invalid.headers["content-type"] == PROBLEM
