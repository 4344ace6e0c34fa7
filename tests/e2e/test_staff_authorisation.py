"""Who may do what in the staff console and the cases API: a hand-written table of every staff
route and every role, exercised over HTTP against a real server.

The table is written out by hand from what each role is for, not computed from the policy it
checks. Acting routes are called with a stale version: an officer who may act gets 409 (the
policy let them through and the version check stopped them, so nothing changes), one who may
not gets 403. A route the application serves that the table lacks fails the last test.
"""

from __future__ import annotations

import re

import httpx
import pytest

from civicmoments.api.app import create_app
from civicmoments.bootstrap import build
from civicmoments.settings import Settings

from .staff import sign_in, start

ROLES = ("work-coach", "decision-maker", "team-leader", "auditor", "agency-partner", "policy", "performance")
SUBJECT = {"work-coach": "demo-work-coach", "decision-maker": "demo-decision-maker",
           "team-leader": "demo-team-leader", "auditor": "demo-auditor", "agency-partner": "demo-agency-partner",
           "policy": "demo-policy", "performance": "demo-performance"}
Y, N = True, False

# (method, route, the case or queue it is tried on) -> allowed for each role, in ROLES order:
#                                                        coach  maker  leader audit  partner policy perform
MATRIX: dict[tuple[str, str, str], tuple[bool, ...]] = {
    ("GET", "/staff/queues", "-"):                        (Y,    Y,     Y,     Y,     Y, Y, Y),
    ("GET", "/staff/caseload", "-"):                      (Y,    Y,     Y,     Y,     Y, Y, Y),
    ("GET", "/staff/queues/{queue}", "decision-review"):  (N,    Y,     Y,     Y,     N, N, N),
    ("GET", "/staff/queues/{queue}", "work-coach"):       (Y,    N,     Y,     Y,     N, N, N),
    ("GET", "/staff/queues/{queue}", "fare-dispute"):     (N,    N,     N,     Y,     Y, N, N),
    ("GET", "/staff/cases/{case_id}", "review"):          (N,    Y,     Y,     Y,     N, N, N),
    ("GET", "/staff/cases/{case_id}", "coach"):           (Y,    N,     Y,     Y,     N, N, N),
    ("GET", "/staff/cases/{case_id}", "fare"):            (N,    N,     N,     Y,     Y, N, N),
    ("POST", "/staff/cases/{case_id}/assign", "review"):  (N,    Y,     Y,     N,     N, N, N),
    ("POST", "/staff/cases/{case_id}/note", "review"):    (N,    Y,     Y,     N,     N, N, N),
    ("POST", "/staff/cases/{case_id}/note", "coach"):     (Y,    N,     Y,     N,     N, N, N),
    ("POST", "/staff/cases/{case_id}/note", "fare"):      (N,    N,     N,     N,     Y, N, N),
    ("POST", "/staff/cases/{case_id}/resolve", "review"): (N,    Y,     Y,     N,     N, N, N),
    ("POST", "/staff/cases/{case_id}/resolve", "coach"):  (Y,    N,     Y,     N,     N, N, N),
    ("POST", "/staff/cases/{case_id}/refer", "coach"):    (Y,    N,     Y,     N,     N, N, N),
    ("POST", "/staff/cases/{case_id}/appeal", "review"):  (N,    Y,     Y,     N,     N, N, N),
    # a document the person sent is read like their data: by those who may view the person on the queue
    ("GET", "/staff/cases/{case_id}/evidence/{evidence_id}", "review"): (N, Y,  Y,     N,     N, N, N),
    # a person is seen through one of the officer's cases (the transit officer through the fare dispute)
    ("GET", "/staff/people/{person}", "person"):          (Y,    Y,     Y,     N,     Y, N, N),
    ("POST", "/staff/people/{person}/contact", "person"): (Y,    Y,     Y,     N,     Y, N, N),
    ("POST", "/staff/people/{person}/job", "person"):     (Y,    Y,     Y,     N,     Y, N, N),
    # acting for the person (assisted service): those who act on a queue that sees the whole person
    ("POST", "/staff/people/{person}/commitment", "person"):       (Y, Y, Y, N, N, N, N),
    ("POST", "/staff/people/{person}/adjustments", "person"):      (Y, Y, Y, N, N, N, N),
    ("POST", "/staff/people/{person}/appointee", "person"):        (Y, Y, Y, N, N, N, N),
    ("POST", "/staff/people/{person}/contact-details", "person"):  (Y, Y, Y, N, N, N, N),
    ("POST", "/staff/people/{person}/interview", "person"):        (Y, Y, Y, N, N, N, N),
    ("POST", "/staff/people/{person}/interview/cancel", "person"): (Y, Y, Y, N, N, N, N),
    ("POST", "/staff/people/{person}/survey", "person"):           (Y, Y, Y, N, N, N, N),
    ("GET", "/staff/people/{person}/survey", "person"):            (Y, Y, Y, N, N, N, N),
    ("GET", "/v1/cases", "-"):                            (Y,    Y,     Y,     Y,     Y, Y, Y),
    ("GET", "/v1/cases/{case_id}", "review"):             (N,    Y,     Y,     Y,     N, N, N),
    ("GET", "/v1/cases/{case_id}", "fare"):               (N,    N,     N,     Y,     Y, N, N),
    ("GET", "/v1/cases/{case_id}/person", "review"):      (N,    Y,     Y,     N,     N, N, N),
    ("GET", "/v1/cases/{case_id}/person", "coach"):       (Y,    N,     Y,     N,     N, N, N),
    ("POST", "/v1/cases/{case_id}/assign", "review"):     (N,    Y,     Y,     N,     N, N, N),
    ("POST", "/v1/cases/{case_id}/notes", "review"):      (N,    Y,     Y,     N,     N, N, N),
    ("POST", "/v1/cases/{case_id}/resolve", "review"):    (N,    Y,     Y,     N,     N, N, N),
    ("POST", "/v1/cases/{case_id}/refer", "fare"):        (N,    N,     N,     N,     Y, N, N),
    ("POST", "/v1/cases/{case_id}/appeal", "review"):     (N,    Y,     Y,     N,     N, N, N),
    ("GET", "/v1/cases/{case_id}/evidence", "review"):    (N,    Y,     Y,     N,     N, N, N),
    ("GET", "/v1/cases/{case_id}/evidence/{evidence_id}", "review"): (N, Y, Y,  N,     N, N, N),
    # insights: aggregates for the policy and performance roles only
    ("GET", "/staff/insights", "-"):                      (N,    N,     N,     N,     N,     Y,     Y),
    ("GET", "/staff/insights/{moment}/{area}", "job-loss/impact"): (N, N, N,   N,     N,     Y,     Y),
    ("GET", "/staff/insights/{moment}/compare", "job-loss"): (N,  N,     N,     N,     N,     Y,     Y),
    ("GET", "/staff/insights/{moment}/export.csv", "job-loss"): (N, N,   N,     N,     N,     Y,     Y),
    ("GET", "/v1/insights/{moment}", "job-loss"):         (N,    N,     N,     N,     N,     Y,     Y),
    ("GET", "/v1/insights/{moment}/compare", "job-loss"): (N,    N,     N,     N,     N,     Y,     Y),
}
# Routes anyone may reach: signing in and out, and the start page.
PUBLIC = {("GET", "/staff"), ("GET", "/staff/sign-in"), ("GET", "/staff/auth/callback"), ("POST", "/staff/sign-out")}
BODIES = {"assign": {}, "note": {"text": "Checked"}, "notes": {"text": "Checked"},
          "resolve": {"outcome": "upheld", "reason": "Checked"}, "refer": {"queue": "work-coach", "to_queue": "work-coach",
                                                                         "note": "Over to you"},
          "appeal": {"channel": "post", "received_on": "2026-01-20"}}


def _seed(app) -> dict:
    from ..integration.test_engine_flow import employer_of, job_ended

    employer = employer_of(app, "r1", "r2", "r3")  # three redundancies: job-loss v1 has run (too few to show)
    app.intake.submit(employer, [job_ended(p, f"matrix-{p}") for p in ("r1", "r2", "r3")])
    app.worker.drain()
    person = app.registry.add_person()
    app.registry.record(None, person, [{"attribute": "given_name", "value": "Mo"}])
    # the transit officer sees the person only under an agreement for the fare dispute's purpose
    app.agreements.put("metro-fare-disputes", "Metro Transit", "fare-concession", ["given_name"], "identified", 30)
    review = app.cases.open("decision-review", person, "A refusal to check").id
    evidence = app.evidence.attach(person, review, "payslip.pdf", b"%PDF-1.4\n%payslip\n")["id"]
    return {"person": person, "review": review, "evidence": evidence,
            "coach": app.cases.open("work-coach", person, "Call them").id,
            "fare": app.cases.open("fare-dispute", person, "A disputed fare").id}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    c = start(tmp_path_factory.mktemp("matrix"), seed=_seed)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def clients(console):
    return {role: sign_in(console.url, SUBJECT[role]) for role in ROLES}


def _call(console, clients, role: str, method: str, route: str, target: str) -> int:
    case = console.seeded.get(target, "")
    path = (route.replace("{queue}", target).replace("{case_id}", case).replace("{person}", console.seeded["person"])
            .replace("{evidence_id}", console.seeded["evidence"])
            .replace("{moment}/{area}", target).replace("{moment}", target))
    if route.endswith("/compare"):
        path += "?before=v1&after=v1"
    action = route.rsplit("/", 1)[-1]
    if path.startswith("/v1/"):
        headers = {"Authorization": f"Bearer {console.officer_tokens[SUBJECT[role]]}"}
        if method == "GET":
            return httpx.get(f"{console.url}{path}", headers=headers).status_code
        return httpx.post(f"{console.url}{path}", headers=headers,
                          json={**BODIES.get(action, {}), "version": 0}).status_code
    c = clients[role]
    if method == "GET":
        return c.get(path).status_code
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/staff/queues").text).group(1)
    return c.post(path, data={**BODIES.get(action, {}), "csrf_token": token, "version": "0"}).status_code


@pytest.mark.parametrize("key", list(MATRIX), ids=[f"{m} {r} {t}" for m, r, t in MATRIX])
def test_every_role_gets_what_the_table_says(console, clients, key):
    method, route, target = key
    got = {role: _call(console, clients, role, method, route, target) for role in ROLES}
    expected = {role: ok for role, ok in zip(ROLES, MATRIX[key], strict=True)}
    wrong = {}
    for role, status in got.items():
        allowed = status in (200, 303, 409, 422) if method == "POST" else status == 200
        denied = status == 403
        if (expected[role] and not allowed) or (not expected[role] and not denied):
            wrong[role] = status
    assert wrong == {}, f"{method} {route} on {target}: expected {expected}, got {got}"


def test_nobody_signed_in_is_sent_to_sign_in_and_no_token_is_401(console):
    for method, route, target in MATRIX:
        path = (route.replace("{queue}", target).replace("{case_id}", console.seeded.get(target, ""))
                .replace("{person}", console.seeded["person"]).replace("{evidence_id}", console.seeded["evidence"])
                .replace("{moment}/{area}", target).replace("{moment}", target))
        r = httpx.request(method, f"{console.url}{path}", json={} if method == "POST" else None)
        if path.startswith("/v1/"):
            assert r.status_code == 401, (method, path, r.status_code)
        else:
            assert r.status_code in (303, 400), (method, path, r.status_code)  # sign in; a form without a token


def _routes(routes, prefix=""):
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes, prefix)
        elif getattr(r, "methods", None):
            for m in r.methods - {"HEAD"}:
                yield m, prefix + r.path


def test_every_staff_route_is_in_the_table(tmp_path):
    api = create_app(build(Settings(data_dir=tmp_path, demo_mode=True)))
    served = {(m, p) for m, p in _routes(api.routes) if p.startswith(("/staff", "/v1/cases", "/v1/insights"))}
    tabled = {(m, r) for m, r, _ in MATRIX} | PUBLIC
    assert served - tabled == set(), "routes missing from the authorisation table"
    assert tabled - served == set(), "the table names routes the application does not serve"
