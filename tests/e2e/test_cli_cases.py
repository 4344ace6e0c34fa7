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
