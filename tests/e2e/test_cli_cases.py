"""``civic officers`` and ``civic cases`` as an operator uses them."""

from __future__ import annotations

import json

import pytest

from ..integration.test_engine_flow import LOW_PAY
from ..people import known
from .test_cli import cli, event


@pytest.fixture
def civic(tmp_path):
    run = cli(tmp_path)
    for name, role in (("Dara", "decision-maker"), ("Sam", "decision-maker"), ("Wendy", "work-coach")):
        run("officers", "add", name, "--subject", f"sub-{name}", "--organisation", "employment-department",
            "--role", role)
    seeded = drain(tmp_path)  # Rae works for Northfield, with too little National Insurance
    known(seeded, "rae", employer="Northfield", **LOW_PAY)
    seeded.store.close()
    f = tmp_path / "e.json"
    f.write_text(json.dumps(event(1, "rae", class1_contribution_years=0)))
    run("events", "send", str(f), "--org", "Northfield")
    drain(tmp_path)
    run.tmp = tmp_path
    return run


def drain(tmp_path):
    from civicmoments.bootstrap import build
    from civicmoments.settings import Settings

    app = build(Settings(data_dir=tmp_path))
    app.worker.drain()
    return app


def test_officers_add_list_and_token(civic):
    listed = json.loads(civic("officers", "list", "--json"))
    assert [(o["name"], o["roles"]) for o in listed] == [("Dara", ["decision-maker"]), ("Sam", ["decision-maker"]),
                                                         ("Wendy", ["work-coach"])]
    assert civic("officers", "token", "Dara").strip().startswith("co_")
    out = civic("officers", "add", "X", "--subject", "s", "--organisation", "o", "--role", "wizard", code=1)
    assert "roles wizard are not declared" in out


def test_a_refusal_is_listed_shown_assigned_and_resolved_from_the_command_line(civic):
    out = civic("cases", "list", "--queue", "decision-review")
    assert "decision-review" in out and "person rae" in out
    (case,) = json.loads(civic("cases", "list", "--queue", "decision-review", "--json"))
    coach = civic("cases", "list", "--as", "Wendy")  # a work coach sees the matching, not the reviews
    assert "job-matching" in coach and "decision-review" not in coach
    civic("cases", "assign", case["id"], "Dara", "--version", "1")
    refused = civic("cases", "resolve", case["id"], "upheld", "--reason", "x", "--version", "2", "--as", "Wendy",
                    code=1)
    assert "may not resolve cases in queue 'decision-review'" in refused
    stale = civic("cases", "resolve", case["id"], "upheld", "--reason", "x", "--version", "1", "--as", "Dara",
                  code=1)
    assert "version 2" in stale
    assert "resolved: overturned" in civic("cases", "resolve", case["id"], "overturned", "--reason",
                                           "contributions were missed", "--version", "2", "--as", "Dara")
    shown = civic("cases", "show", case["id"])
    assert "outcome: overturned (contributions were missed), by Dara" in shown
    assert [line.split()[3] for line in shown.splitlines() if line.startswith("  2026")] == \
        ["opened", "assigned", "resolved"]
    again = civic("cases", "resolve", case["id"], "upheld", "--reason", "x", "--version", "3", "--as", "Sam", code=1)
    assert "already resolved" in again and "resolved (overturned) by" in again
    app = drain(civic.tmp)
    (j,) = app.store.journeys_for("rae")
    assert j.steps["review-award"].status.value == "done"  # the journey heard the outcome and awarded


def test_an_appeal_and_the_documents_on_a_case_from_the_command_line(civic):
    app = drain(civic.tmp)
    dara, sam = app.officers.get("Dara"), app.officers.get("Sam")
    mr = app.cases.open("mandatory-reconsideration", "rae", "Rae asked us to look again")
    mr = app.cases.resolve(mr.id, sam, "upheld", "The record stands", mr.version)
    review = app.cases.list(queue="decision-review", person="rae")[0]
    doc = app.evidence.attach("rae", review.id, "payslip.pdf", b"%PDF-1.4\n%payslip\n")
    app.store.close()

    bad = civic("cases", "appeal", mr.id, "--channel", "pigeon", "--received-on", "soon", "--as", "Dara", code=1)
    assert len(bad.strip().splitlines()) == 1 and "Select how the appeal reached us (post, phone" in bad
    not_kept = civic("cases", "appeal", review.id, "--channel", "post", "--received-on", "2026-01-20",
                     "--as", "Dara", code=1)
    assert "kept the decision" in not_kept and len(not_kept.strip().splitlines()) == 1
    out = civic("cases", "appeal", mr.id, "--channel", "post", "--received-on", "2026-01-20", "--reference",
                "SC242/26/01234", "--as", "Dara")
    assert f"appeal recorded on case {mr.id}" in out
    again = civic("cases", "appeal", mr.id, "--channel", "post", "--received-on", "2026-01-20", "--as", "Dara",
                  code=1)
    assert "already recorded" in again
    app = drain(civic.tmp)  # the appeal's journey opens the appeal case
    (appeal,) = app.cases.list(queue="appeal", person="rae")
    assert appeal.data["first_reviewer"] == sam.id
    app.store.close()

    listed = civic("cases", "evidence", review.id, "--as", "Dara")
    assert doc["id"] in listed and "payslip.pdf" in listed and "application/pdf" in listed
    assert "no documents on this case" in civic("cases", "evidence", mr.id, "--as", "Dara")
    target = civic.tmp / "out.pdf"
    written = civic("cases", "evidence", review.id, doc["id"], "--out", str(target), "--as", "Dara")
    assert "written to" in written and target.read_bytes() == b"%PDF-1.4\n%payslip\n"
    assert "give --out FILE" in civic("cases", "evidence", review.id, doc["id"], "--as", "Dara", code=2)
    refused = civic("cases", "evidence", review.id, "--as", "Wendy", code=1)  # a work coach: not this queue
    (error,) = [line for line in refused.splitlines() if line.startswith("Error:")]
    assert "may not see cases in queue 'decision-review'" in error
    app = drain(civic.tmp)
    assert any(doc["id"] in str(e) and e.get("officer") == dara.id for e in app.registry.store.log_for("rae"))


def test_a_refused_action_is_one_line_on_the_terminal_and_no_log_line(civic):
    """Run as an operator runs it (its own process, its stderr apart): the refusal is the one error line."""
    import subprocess

    from .conftest import CIVIC, civic_env

    (case,) = json.loads(civic("cases", "list", "--queue", "decision-review", "--json"))
    env = {k: v for k, v in civic_env(civic.tmp).items() if k != "CIVIC_CLI_LOG_LEVEL"}  # as it ships
    done = subprocess.run([*CIVIC, "cases", "resolve", case["id"], "upheld", "--reason", "x", "--version", "1",
                           "--as", "Wendy"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "Error: Your roles do not let you do this on this queue: officer 'Wendy' (work-coach, employment-department) may not resolve cases in queue "
        "'decision-review'"], done.stderr
