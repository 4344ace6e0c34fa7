"""People, consent, the gate and the access log over real HTTP."""

from __future__ import annotations

import httpx
import pytest


def call(server, method: str, path: str, token: str = "Console", **kw) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", headers={"Authorization": f"Bearer {server.tokens[token]}"},
                         **kw)


def problem(resp: httpx.Response, status: int, slug: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"].endswith(f"/{slug}") and body["detail"]
    return body


@pytest.fixture(scope="module")
def person(server) -> str:
    resp = call(server, "POST", "/v1/people", json={"identifiers": {"ni_number": "JG654321B"}})
    assert resp.status_code == 201, resp.text
    pid = resp.json()["id"]
    facts = [{"attribute": "given_name", "value": "Ben"}, {"attribute": "family_name", "value": "Okafor"},
             {"attribute": "date_of_birth", "value": "2003-09-30"}, {"attribute": "postcode", "value": "LS6 2DT"},
             {"attribute": "home_area", "value": "Leeds"}, {"attribute": "bank_account", "value": "20-00-00 1"}]
    assert call(server, "POST", f"/v1/people/{pid}/facts", "HMRC", json=facts).json() == {"recorded": 6}
    server.civic("agreements", "put", "jm", "--recipient", "JobMatch", "--purpose", "employment-support",
                 "--attribute", "home_area", "--attribute", "postcode", "--mode", "identified")
    server.civic("agreements", "put", "metro", "--recipient", "Metro", "--purpose", "fare-concession",
                 "--check", "active-jobseeker", "--mode", "identified")
    return pid


def test_bad_facts(server, person):
    problem(call(server, "POST", f"/v1/people/{person}/facts", "HMRC", json=[{"attribute": "hair", "value": 1}]),
            422, "unknown-attribute")
    problem(call(server, "POST", f"/v1/people/{person}/facts", "HMRC",
                 json=[{"attribute": "date_of_birth", "value": "30/09/2003"}]), 422, "wrong-value-type")
    problem(call(server, "POST", f"/v1/people/{person}/facts", "HMRC",
                 json=[{"attribute": "occupation", "value": "x"}]), 403, "domain-not-authorised")
    problem(call(server, "POST", "/v1/people/nobody/facts", "HMRC", json=[{"attribute": "postcode", "value": "x"}]),
            404, "unknown-person")


def test_once_only_questions_and_answers(server, person):
    plan = call(server, "GET", f"/v1/people/{person}/questions", params={"for": "jsa-new-style"}).json()
    assert {k["attribute"] for k in plan["known"]} >= {"given_name", "date_of_birth", "bank_account"}
    bank = next(k for k in plan["known"] if k["attribute"] == "bank_account")
    assert bank["value"] == "[sensitive]"
    assert "ni_number" in [a["attribute"] for a in plan["ask"]]
    assert call(server, "POST", f"/v1/people/{person}/answers", json={"skills": "forklift"}).status_code == 201
    problem(call(server, "GET", f"/v1/people/{person}/questions", params={"for": "visa"}), 422, "unknown-form")


def test_consent_the_gate_and_the_access_log(server, person):
    problem(call(server, "GET", f"/v1/people/{person}/data", "JobMatch",
                 params={"purpose": "employment-support", "attributes": "home_area"}), 403, "consent-not-given")
    problem(call(server, "DELETE", f"/v1/people/{person}/consents/employment-support"), 409, "consent-never-given")
    problem(call(server, "PUT", f"/v1/people/{person}/consents/astrology"), 422, "unknown-purpose")
    receipt = call(server, "PUT", f"/v1/people/{person}/consents/employment-support", params={"channel": "app"})
    assert receipt.status_code == 201 and receipt.json()["state"] == "given"
    data = call(server, "GET", f"/v1/people/{person}/data", "JobMatch",
                params={"purpose": "employment-support", "attributes": "home_area,bank_account"}).json()
    assert data["data"] == {"home_area": "Leeds"} and data["withheld"] == ["bank_account"]
    assert data["subject"] == person  # identified, as the agreement says
    withdrawn = call(server, "DELETE", f"/v1/people/{person}/consents/employment-support")
    assert withdrawn.json()["state"] == "withdrawn"
    problem(call(server, "GET", f"/v1/people/{person}/data", "JobMatch",
                 params={"purpose": "employment-support", "attributes": "home_area"}), 403, "consent-not-given")
    check = call(server, "GET", f"/v1/people/{person}/checks/active-jobseeker", "Metro",
                 params={"purpose": "fare-concession"})
    assert check.json() == {"check": "active-jobseeker", "answer": False}
    log = [e for e in call(server, "GET", f"/v1/people/{person}/access-log").json()
           if not e["channel"].startswith("api:")]  # the console's own reads are logged too, apart
    assert [(e["organisation"], e["outcome"]) for e in log] == [
        ("Metro", "answered"), ("JobMatch", "refused"), ("JobMatch", "disclosed"), ("JobMatch", "refused")]
    assert log[2]["attributes"] == ["home_area"]
    problem(call(server, "GET", f"/v1/people/{person}/export"), 422, "export-reason-required")
    export = call(server, "GET", f"/v1/people/{person}/export", params={"reason": "subject access request"}).json()
    assert export["profile"]["bank_account"]["value"] == "20-00-00 1"  # the person sees their own data
    assert [c["state"] for c in export["consents"]] == ["given", "withdrawn"]
    assert len([e for e in export["disclosures"] if not e["channel"].startswith("api:")]) == 4
    (logged,) = [e for e in call(server, "GET", f"/v1/people/{person}/access-log").json()
                 if e["channel"] == "api:export"]  # the export itself is in the log, with its reason
    assert logged["organisation"] == "Console" and "bank_account" in logged["attributes"]
    verify = server.civic("audit", "verify")
    assert "intact: " in verify.stdout


def test_scopes_are_enforced(server, person):
    problem(call(server, "GET", f"/v1/people/{person}/export", "JobMatch"), 403, "permission-denied")
    # people:read alone, and no agreement: no export, and no name, birth date or bank account in clear
    problem(call(server, "GET", f"/v1/people/{person}/export", "Portal", params={"reason": "x"}), 403,
            "permission-denied")


def test_services_for_a_person(server, person):
    resp = call(server, "GET", f"/v1/people/{person}/services", params={"on": "2025-06-01"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {e["service"] for e in body["eligible"]} >= {"provisional-licence", "register-to-vote"}
    assert body["becoming_eligible"][0]["service"] == "state-pension"
    shown = call(server, "GET", f"/v1/people/{person}/services",
                 params={"on": "2025-06-01", "include": "not-eligible"}).json()
    jsa = next(e for e in shown["not_eligible"] if e["service"] == "jsa-new-style")
    assert {a["attribute"] for a in jsa["ask"]} == {"employment_status", "class1_earnings_last_year_pence",
                                                    "class1_earnings_year_before_pence"}
    bad = problem(call(server, "GET", f"/v1/people/{person}/services", params={"on": "1 June"}), 422,
                  "invalid-decision-date")
    assert "'on'" in bad["detail"] and "'1 June'" in bad["detail"]
    problem(call(server, "GET", f"/v1/people/{person}/services", params={"on": "2026-02-30"}), 422,
            "invalid-decision-date")


# -- facts and identifiers as spreadsheets and registers really send them ----------------------

@pytest.fixture(scope="module")
def registrar(server) -> str:
    out = server.civic("orgs", "add", "Registrar", "--source", "https://registrar.example/*", "--scope", "facts:*",
                       "--json")
    import json

    server.tokens["Registrar"] = json.loads(out.stdout)["token"]
    return "Registrar"


def test_a_spreadsheet_date_serial_for_a_date_is_a_422_naming_the_pointer_and_type(server, person, registrar):
    resp = call(server, "POST", f"/v1/people/{person}/facts", registrar,
                json=[{"attribute": "date_of_birth", "value": 29281}])
    body = problem(resp, 422, "wrong-value-type")
    (error,) = body["errors"]
    assert error["pointer"] == "/0/value" and error["expected"] == "a date, a string written YYYY-MM-DD"
    assert "/0/value" in body["detail"] and "got integer 29281" in body["detail"]


WRONG = {"string": "x", "integer": 29281, "number": 1.5, "boolean": True, "null": None, "array": ["x"],
         "object": {"x": 1}}
ATTRIBUTE_OF_TYPE = {  # an attribute of each type the pack declares, and the JSON types it takes
    "given_name": {"string"}, "household_size": {"integer"}, "email_valid": {"boolean"},
    "date_of_birth": set(), "preferred_channel": set(), "email": set(), "ni_number": set()}


@pytest.mark.parametrize("attribute", list(ATTRIBUTE_OF_TYPE))
def test_every_wrong_json_type_for_every_attribute_type_is_a_422_with_its_pointer(server, person, registrar,
                                                                                 attribute):
    for kind, value in WRONG.items():
        if kind in ATTRIBUTE_OF_TYPE[attribute]:
            continue
        good = {"attribute": "home_area", "value": "Leeds"}
        resp = call(server, "POST", f"/v1/people/{person}/facts", registrar,
                    json=[good, {"attribute": attribute, "value": value}])
        assert resp.status_code == 422, (attribute, kind, resp.text)
        (error,) = resp.json()["errors"]
        assert error["pointer"] == "/1/value", (attribute, kind)
        assert error.get("expected") or error.get("rule"), (attribute, kind)


def test_nan_and_fractions_for_a_whole_number_are_refused(server, person, registrar):
    for raw in (b'[{"attribute": "household_size", "value": NaN}]',
                b'[{"attribute": "household_size", "value": 2.5}]'):
        resp = httpx.post(f"{server.url}/v1/people/{person}/facts", content=raw, headers={
            "Authorization": f"Bearer {server.tokens[registrar]}", "Content-Type": "application/json"})
        assert problem(resp, 422, "wrong-value-type")["errors"][0]["pointer"] == "/0/value"
    ok = call(server, "POST", f"/v1/people/{person}/facts", registrar,
              json=[{"attribute": "household_size", "value": 3.0}])
    assert ok.status_code == 201


@pytest.mark.parametrize(("ni", "rule"), [("ZZ999999A", "ni-number-prefix-not-allocated"),
                                          ("GB123456A", "ni-number-prefix-not-allocated"),
                                          ("QQ123456C", "ni-number-first-letter"),
                                          ("AO123456C", "ni-number-second-letter"),
                                          ("AB123456E", "ni-number-suffix")])
def test_ni_numbers_hmrc_never_issues_are_refused_naming_the_rule(server, registrar, person, ni, rule):
    body = problem(call(server, "POST", "/v1/people", json={"identifiers": {"ni_number": ni}}), 422,
                   "invalid-identifier")
    assert body["errors"] == [{"pointer": "/identifiers/ni_number", "message": body["detail"], "rule": rule}]
    fact = call(server, "POST", f"/v1/people/{person}/facts", registrar,
                json=[{"attribute": "ni_number", "value": ni}])
    assert problem(fact, 422, "invalid-identifier")["errors"][0]["rule"] == rule


def test_an_identifier_already_held_is_a_409_naming_the_person(server):
    first = call(server, "POST", "/v1/people", json={"identifiers": {"ni_number": "JT 10 37 59 C"}})
    assert first.status_code == 201
    holder = first.json()["id"]
    for same in ("JT103759C", "jt 103759 c"):
        body = problem(call(server, "POST", "/v1/people",
                            json={"identifiers": {"ni_number": same, "staff_number": "E-77"}}), 409,
                       "identifier-held")
        assert holder in body["detail"] and body["errors"][0]["person"] == holder
    # nothing of the refused request was kept: its other identifier is still free
    assert call(server, "POST", "/v1/people", json={"identifiers": {"staff_number": "E-77"}}).status_code == 201
    export = call(server, "GET", f"/v1/people/{holder}/export", params={"reason": "checking a held identifier"})
    assert export.json()["identifiers"] == {"ni_number": "JT103759C"}
