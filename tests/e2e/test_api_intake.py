"""POST /v1/events over real HTTP, with the official CloudEvents SDK as the client."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.v1.event import CloudEvent

from .conftest import wait_for

JOB_ENDED = "uk.gov.dwp.employment.job-ended"
SOURCE = "https://northfield.example/hr"
DATA = {"reason": "redundancy", "last_day": "2026-11-20", "age": 30, "class1_contribution_years": 2}


def employee(server, employer: str = "Northfield") -> str:
    """A person in the registry whose employer is ``employer``, so it may report their job ending."""
    h = {"Authorization": f"Bearer {server.tokens['Console']}"}
    pid = httpx.post(f"{server.url}/v1/people", json={}, headers=h).json()["id"]
    r = httpx.post(f"{server.url}/v1/people/{pid}/facts", json=[{"attribute": "employer", "value": employer}],
                   headers=h)
    assert r.status_code == 201, r.text
    return pid


def cloud_event(server, **attrs) -> CloudEvent:
    base = {"type": JOB_ENDED, "source": SOURCE, "id": str(uuid.uuid4()), "subject": employee(server)}
    data = attrs.pop("data", DATA)
    return CloudEvent(attributes={**base, **attrs}, data=data)


def post(server, message, token="Northfield", headers=None) -> httpx.Response:
    h = {"Authorization": f"Bearer {server.tokens[token]}", **message.headers, **(headers or {})}
    return httpx.post(f"{server.url}/v1/events", content=message.body, headers=h)


def journey_of(server, person: str) -> dict:
    out = server.civic("journeys", "list", "--person", person, "--json")
    rows = json.loads(out.stdout)
    return rows[0] if rows else None


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_an_event_in_either_mode_is_accepted_and_starts_a_journey(server, mode):
    event = cloud_event(server)
    convert = ce_http.to_structured_event if mode == "structured" else ce_http.to_binary_event
    resp = post(server, convert(event))
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "accepted"
    journey = wait_for(lambda: journey_of(server, event.get_subject()))
    assert journey["moment"] == "job-loss"
    view = httpx.get(f"{server.url}/v1/journeys/{journey['id']}",
                     headers={"Authorization": f"Bearer {server.tokens['Console']}"})
    assert view.status_code == 200
    body = wait_for(lambda: (v := httpx.get(
        f"{server.url}/v1/journeys/{journey['id']}",
        headers={"Authorization": f"Bearer {server.tokens['Console']}"}).json())["steps"]["notice"]["status"]
        == "done" and v)
    assert body["timeline"][0]["kind"] == "started"
    assert body["steps"]["assess"]["status"] == "done"


def test_a_batch_reports_each_event(server):
    good = json.loads(ce_http.to_structured_event(cloud_event(server)).body)
    bad = {**json.loads(ce_http.to_structured_event(cloud_event(server)).body), "type": "uk.gov.nope"}
    resp = httpx.post(f"{server.url}/v1/events", content=json.dumps([good, bad]), headers={
        "Authorization": f"Bearer {server.tokens['Northfield']}",
        "Content-Type": "application/cloudevents-batch+json"})
    assert resp.status_code == 207
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["problem"]["type"].endswith("/unknown-event-type")


def test_resending_the_same_event_is_harmless(server):
    message = ce_http.to_structured_event(cloud_event(server))
    assert post(server, message).status_code == 202
    again = post(server, message)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


def test_csv_from_an_employer(server):
    person = employee(server)
    csv = ("notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"
           f"N-{uuid.uuid4()},{person},redundancy,2026-11-20,45,2,fitter\n")
    resp = httpx.post(f"{server.url}/v1/events?type={JOB_ENDED}&source={SOURCE}", content=csv, headers={
        "Authorization": f"Bearer {server.tokens['Northfield']}", "Content-Type": "text/csv"})
    assert resp.status_code == 202, resp.text
    assert wait_for(lambda: journey_of(server, person))["moment"] == "job-loss"


# -- bad input: each gets a status and a problem that names it ------------------------------

def problem(resp: httpx.Response, status: int, slug: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"] == f"https://civicmoments.org/problems/{slug}"
    assert body["status"] == status and body["detail"]
    return body


def raw_post(server, body, content_type="application/cloudevents+json", token="Northfield", **headers):
    auth = {"Authorization": f"Bearer {server.tokens[token]}"} if token else {}
    return httpx.post(f"{server.url}/v1/events", content=body,
                      headers={**auth, "Content-Type": content_type, **headers})


def test_malformed_json(server):
    body = problem(raw_post(server, b'{"type": "x",'), 400, "malformed-json")
    assert "line 1" in body["detail"]


def test_missing_required_attributes(server):
    body = problem(raw_post(server, json.dumps({"specversion": "1.0", "type": JOB_ENDED})), 400,
                   "missing-attribute")
    assert "id, source, subject" in body["detail"]
    assert {"pointer": "/id", "message": "is required"} in body["errors"]


def test_an_unknown_event_type(server):
    message = ce_http.to_structured_event(cloud_event(server, type="uk.gov.dwp.employment.job-lost"))
    body = problem(post(server, message), 422, "unknown-event-type")
    assert "'uk.gov.dwp.employment.job-lost'" in body["detail"]


def test_a_data_schema_violation_lists_json_pointers(server):
    message = ce_http.to_structured_event(cloud_event(server, data={"reason": "laid off", "age": "forty"}))
    body = problem(post(server, message), 422, "schema-violation")
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/data", "/data/reason", "/data/age"}


def test_a_payload_over_the_limit(server):
    big = cloud_event(server, data={**DATA, "occupation": "x" * 30_000})
    body = problem(post(server, ce_http.to_structured_event(big)), 413, "payload-too-large")
    assert "20000" in body["detail"]


def test_a_source_that_is_not_the_senders_own(server):
    message = ce_http.to_structured_event(cloud_event(server, source="https://rival.example/hr"))
    body = problem(post(server, message), 403, "source-not-owned")
    assert "rival.example" in body["detail"]


def test_an_event_type_outside_the_senders_scope(server):
    message = ce_http.to_structured_event(cloud_event(server, source="civic://portal"))
    problem(post(server, message, token="Portal"), 403, "event-type-not-in-scope")


def test_a_duplicate_id_with_different_content(server):
    event = cloud_event(server)
    assert post(server, ce_http.to_structured_event(event)).status_code == 202
    changed = CloudEvent(attributes={"type": JOB_ENDED, "source": SOURCE, "id": event.get_id(),
                                     "subject": event.get_subject()}, data={**DATA, "age": 31})
    body = problem(post(server, ce_http.to_structured_event(changed)), 409, "duplicate-event-id")
    assert event.get_id() in body["detail"]


def test_no_token(server):
    problem(raw_post(server, b"{}", token=None), 401, "credential-missing")


def test_a_wrong_token(server):
    problem(raw_post(server, b"{}", token=None, Authorization="Bearer cm_0000_nope"), 401,
            "credential-invalid")


def test_an_expired_token(server):
    server.civic("orgs", "add", "Shortlived", "--source", "https://short.example/*", "--scope", "uk.*",
                 "--expires", "PT1S")
    out = server.civic("orgs", "token", "Shortlived", "--expires", "PT1S")
    token = out.stdout.strip()
    import time

    time.sleep(1.2)
    problem(raw_post(server, b"{}", token=None, Authorization=f"Bearer {token}"), 401, "credential-expired")


def test_a_revoked_token(server):
    out = server.civic("orgs", "add", "Gone Ltd", "--source", "https://gone.example/*", "--scope", "uk.*",
                       "--json")
    token = json.loads(out.stdout)["token"]
    message = ce_http.to_structured_event(cloud_event(server, source="https://gone.example/hr",
                                                      subject=employee(server, "Gone Ltd")))
    assert httpx.post(f"{server.url}/v1/events", content=message.body,
                      headers={**message.headers, "Authorization": f"Bearer {token}"}).status_code == 202
    server.civic("orgs", "revoke", "Gone Ltd")
    resp = httpx.post(f"{server.url}/v1/events", content=message.body,
                      headers={**message.headers, "Authorization": f"Bearer {token}"})
    problem(resp, 401, "credential-revoked")


def test_an_unsupported_content_type(server):
    problem(raw_post(server, b"<xml/>", content_type="application/xml"), 415, "unsupported-media-type")


def test_reading_a_journey_needs_the_scope(server):
    resp = httpx.get(f"{server.url}/v1/journeys/anything",
                     headers={"Authorization": f"Bearer {server.tokens['Northfield']}"})
    problem(resp, 403, "permission-denied")
    resp = httpx.get(f"{server.url}/v1/journeys/nothing-here",
                     headers={"Authorization": f"Bearer {server.tokens['Console']}"})
    problem(resp, 404, "not-found")


def test_nothing_accepted_is_lost_after_bad_input(server):
    """After all the bad requests above, the server still takes and processes events."""
    event = cloud_event(server)
    assert post(server, ce_http.to_structured_event(event)).status_code == 202
    assert wait_for(lambda: journey_of(server, event.get_subject()))
    assert httpx.get(f"{server.url}/openapi.json").json()["paths"]["/v1/events"]


# -- CloudEvents as brokers and SDKs really send them ------------------------------------------

def structured(**attrs) -> dict:
    event = {"specversion": "1.0", "type": JOB_ENDED, "source": SOURCE, "id": str(uuid.uuid4()),
             "subject": f"p-{uuid.uuid4()}", "data": DATA}
    event.update(attrs)
    return {k: v for k, v in event.items() if v is not None}


@pytest.mark.parametrize("time", ["2026-11-21t09:00:00z", "2026-11-21T10:00:00.125+01:00",
                                  "2026-11-21T09:00:00-00:00"])
def test_every_rfc3339_form_of_time_is_accepted(server, time):
    resp = raw_post(server, json.dumps(structured(time=time)))
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("time", ["20261121T090000Z", "2026-11-21 09:00:00Z", "2026-11-21T09:00:00+0100",
                                  "2026-11-21T09:00Z", "2026-02-30T09:00:00Z", 1795251600])
def test_a_time_that_is_not_rfc3339_is_refused_naming_the_attribute(server, time):
    body = problem(raw_post(server, json.dumps(structured(time=time))), 400, "malformed-event")
    assert body["detail"].startswith("attribute 'time': ")
    assert body["errors"][0]["pointer"] == "/time"


def b64(value) -> str:
    import base64

    return base64.b64encode(value if isinstance(value, bytes) else json.dumps(value).encode()).decode()


def test_data_base64_in_structured_mode_is_decoded_and_validated(server):
    event = structured(data=None, data_base64=b64(DATA), subject=employee(server))
    resp = raw_post(server, json.dumps(event))
    assert resp.status_code == 202, resp.text
    assert wait_for(lambda: journey_of(server, event["subject"]))["moment"] == "job-loss"
    missing = structured(data=None, data_base64=b64({"reason": "redundancy", "last_day": "2026-11-20"}))
    body = problem(raw_post(server, json.dumps(missing)), 422, "schema-violation")
    assert "'age' is a required property" in body["detail"]
    assert "'reason' is a required property" not in body["detail"]


@pytest.mark.parametrize(("attrs", "says"), [
    ({"data_base64": "eyJhIjoxfQ=="}, "both 'data' and 'data_base64'"),
    ({"data": None, "data_base64": "not base64!"}, "not valid base64"),
    ({"data": None, "data_base64": "eyJhIjoxfQ"}, "not valid base64"),        # padding missing
    ({"data": None, "data_base64": b64(b"\xff\xfe binary")}, "not JSON text in UTF-8"),
    ({"data": None, "data_base64": 42}, "must be a string"),
])
def test_what_the_json_format_forbids_in_data_base64_is_refused_saying_so(server, attrs, says):
    body = problem(raw_post(server, json.dumps(structured(**attrs))), 400, "malformed-event")
    assert says in body["detail"]
