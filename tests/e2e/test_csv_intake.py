"""Employers' CSV files as payroll systems and spreadsheets really write them: through
``POST /v1/events`` and ``civic events send``, each row accepted or rejected on its own."""

from __future__ import annotations

import json
import random
import time
import uuid

import httpx
from click.testing import CliRunner

from civicmoments.cli import main

from .conftest import civic_env
from .test_cli import JOB_ENDED, civic  # noqa: F401 - the civic fixture

SOURCE = "https://northfield.example/hr"
# These people are unknown to the registry, so a row that is read well is kept in a verification
# case ("held") rather than starting a journey; either way it went through, and nothing is lost.
THROUGH = {"accepted", "held"}
HEADER = "notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"


def post_csv(server, text: str) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/events?type={JOB_ENDED}&source={SOURCE}", content=text.encode(), headers={
        "Authorization": f"Bearer {server.tokens['Northfield']}", "Content-Type": "text/csv"})


def test_a_row_without_its_optional_trailing_fields_goes_through_with_the_others(server):
    tag = uuid.uuid4().hex[:8]
    text = HEADER + (f"N-11-{tag},p-11-{tag},redundancy,2026-10-30,52\n"
                     f"N-12-{tag},p-12-{tag},redundancy,2026-10-30,41,2,welder\n"
                     f"N-13-{tag},p-13-{tag},redundancy,2026-10-30\n"                  # ends before age
                     f"N-14-{tag},p-14-{tag},redundancy,2026-10-30,41,2,welder,spare\n")  # one field too many
    resp = post_csv(server, text)
    assert resp.status_code == 207, resp.text
    results = resp.json()["results"]
    assert [(r["line"], r["status"] in THROUGH) for r in results] == [(2, True), (3, True), (4, False), (5, False)]
    assert [r["status"] for r in results][2:] == ["rejected", "rejected"]
    assert results[2]["problem"]["type"].endswith("/malformed-csv-row")
    assert "ends before the required age" in results[2]["problem"]["detail"]
    assert "has 8 fields but the header has 7" in results[3]["problem"]["detail"]


def test_45_point_0_is_45_and_each_type_error_rejects_only_its_row(server):
    tag = uuid.uuid4().hex[:8]
    text = HEADER + (f"A-{tag},pa-{tag},redundancy,2026-10-30,45.0,2,fitter\n"
                     f"B-{tag},pb-{tag},redundancy,2026-10-30,45,2.0,fitter\n"
                     f"C-{tag},pc-{tag},redundancy,2026-10-30,45.5,2,fitter\n"
                     f"D-{tag},pd-{tag},redundancy,2026-10-30,٣٠,2,fitter\n"
                     f"E-{tag},pe-{tag},redundancy,2026-10-30,NaN,2,fitter\n"
                     f"F-{tag},pf-{tag},laid off,2026-10-30,45,2,fitter\n")
    resp = post_csv(server, text)
    assert resp.status_code == 207, resp.text
    results = resp.json()["results"]
    assert [r["status"] in THROUGH for r in results] == [True, True, False, False, False, False]
    assert all(r["status"] == "rejected" for r in results[2:])
    reasons = {r["line"]: r["problem"] for r in results if r["status"] == "rejected"}
    assert reasons[4]["errors"] == [{"pointer": "/line/4/age", "message": "'45.5' is not a whole number"}]
    assert "digits other than 0-9" in reasons[5]["detail"]
    assert reasons[6]["errors"][0]["pointer"] == "/line/6/age"
    assert reasons[7]["type"].endswith("/schema-violation") and "/data/reason" in reasons[7]["detail"]


def test_a_repeated_column_refuses_the_file_naming_it(server):
    resp = post_csv(server, "notice_ref,person_id,reason,last_day,age,age,ni_years,occupation\n"
                            "N-1,p-1,redundancy,2026-10-30,45,45,2,x\n")
    assert resp.status_code == 422
    body = resp.json()
    assert body["type"].endswith("/csv-mapping") and "twice: age" in body["detail"]


def test_civic_events_send_reports_each_bad_row_by_line_and_sends_the_rest(civic, tmp_path):  # noqa: F811
    csv = tmp_path / "leavers.csv"
    csv.write_text(HEADER + "N-11,p-11,redundancy,2026-10-30,52\n"
                            "N-12,p-12,redundancy,2026-10-30,45.0,2,fitter\n"
                            "N-13,p-13,redundancy,2026-10-30,45.5,2,fitter\n"
                            "N-14,p-14,redundancy,2026-10-30,1e400,2,fitter\n", encoding="utf-8")
    out = civic("events", "send", str(csv), "--org", "Northfield", "--type", JOB_ENDED, "--source", SOURCE,
                code=1)
    assert "line 4 (N-13)" in out and "'45.5' is not a whole number" in out
    assert "line 5 (N-14)" in out
    assert "2 held, 2 rejected" in out
    receipts = [json.loads(line) for line in civic("events", "send", str(csv), "--org", "Northfield", "--type",
                                                   JOB_ENDED, "--source", SOURCE, "--json", code=1).splitlines()]
    assert [(r["line"], r["status"]) for r in receipts] == [
        (2, "held"), (3, "held"), (4, "rejected"), (5, "rejected")]  # sent again: the same cases, nothing new


BAD_ROWS = [
    lambda n: f"N-{n},p-{n},redundancy,2026-10-30",                       # ends before a required field
    lambda n: f"N-{n},p-{n},redundancy,2026-10-30,40,2,welder,extra",     # a field too many
    lambda n: f"N-{n},p-{n},redundancy,2026-10-30,40.5,2,welder",         # not a whole number
    lambda n: f"N-{n},p-{n},redundancy,2026-10-30,٤٠,2,welder",           # Arabic-Indic digits
    lambda n: f"N-{n},p-{n},redundancy,2026-10-30,NaN,2,welder",          # not a number
    lambda n: f"N-{n},p-{n},sacked,2026-10-30,40,2,welder",               # not an allowed reason
    lambda n: f"N-{n},p-{n},redundancy,30/10/2026,40,2,welder",           # not a date
    lambda n: f"N-{n},p-{n},redundancy,2026-10-30,12,2,welder",           # under the minimum age
    lambda n: f"N-{n},,redundancy,2026-10-30,40,2,welder",                # no subject
    lambda n: f"N-{n},p-{n},redundancy,2026-10-30,40,two,welder",         # optional field, wrong type
]


def test_ten_thousand_rows_with_one_percent_bad_lose_nothing(civic, tmp_path):  # noqa: F811
    rng = random.Random(13)
    bad_lines = set(rng.sample(range(2, 10_002), 100))
    lines, kinds = [], {}
    for line in range(2, 10_002):
        n = line - 1
        if line in bad_lines:
            kind = rng.randrange(len(BAD_ROWS))
            kinds[line] = kind
            lines.append(BAD_ROWS[kind](n))
        else:
            lines.append(f"N-{n},p-{n},redundancy,2026-10-30,{rng.choice(['40', '40.0', '52'])},2"
                         + rng.choice(["", ",welder"]))
    csv = tmp_path / "layoff.csv"
    csv.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["events", "send", str(csv), "--org", "Northfield", "--type", JOB_ENDED,
                                       "--source", SOURCE, "--json"], env=civic_env(tmp_path))
    took = time.monotonic() - started
    assert result.exit_code == 1, result.output
    receipts = [json.loads(line) for line in result.stdout.splitlines()]  # a receipt a line
    assert len(receipts) == 10_000
    accepted = [r for r in receipts if r["status"] in THROUGH]
    rejected = [r for r in receipts if r["status"] == "rejected"]
    assert len(accepted) == 9_900 and len(rejected) == 100
    assert {r["line"] for r in rejected} == bad_lines
    assert all(r["problem"]["detail"] and r["problem"]["type"] for r in rejected)
    assert len({kinds[r["line"]] for r in rejected}) == len(BAD_ROWS)  # every kind was tried
    assert took < 60, f"10,000 rows took {took:.1f} s"
