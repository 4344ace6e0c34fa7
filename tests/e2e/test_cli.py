"""The ``civic`` command as an operator uses it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from civicmoments.cli import main

from .conftest import civic_env

JOB_ENDED = "uk.gov.dwp.employment.job-ended"


def cli(tmp_path):
    """`civic` run in-process on the data folder ``tmp_path``, with Northfield as an organisation;
    ``run(*args, code=0)`` checks the exit code and returns what was printed."""
    env = civic_env(tmp_path)
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    run("orgs", "add", "Northfield", "--source", "https://northfield.example/*", "--scope",
        "uk.gov.dwp.employment.*")
    return run


@pytest.fixture
def civic(tmp_path):
    run = cli(tmp_path)
    employ(tmp_path, "ana", "p2", "p3", "p4", "zed", "bo", "cy")
    return run


def employ(data_dir, *people: str) -> None:
    """Northfield's staff: people the registry knows, whose employer is Northfield."""
    from civicmoments.bootstrap import build
    from civicmoments.engine.steps import PLATFORM
    from civicmoments.settings import Settings

    app = build(Settings(data_dir=data_dir))
    app.registry.store.add_people([{"id": p, "created_at": app.clock.now(), "merged_into": None} for p in people], [])
    app.registry.record_many(PLATFORM, [(p, [{"attribute": "employer", "value": "Northfield"}]) for p in people])
    app.store.close()


def event(n: int, person: str, **data) -> dict:
    return {"specversion": "1.0", "type": JOB_ENDED, "source": "https://northfield.example/hr",
            "id": f"N-{n}", "subject": person,
            "data": {"reason": "redundancy", "last_day": "2026-11-20", "age": 30, **data}}


def test_orgs_list_and_revoke(civic):
    assert "Northfield" in civic("orgs", "list")
    civic("orgs", "revoke", "Northfield")
    (row,) = json.loads(civic("orgs", "list", "--json"))
    assert row["revoked_at"] is not None


def test_adding_an_organisation_twice_is_a_clear_error(civic):
    out = civic("orgs", "add", "Northfield", "--source", "x", "--scope", "y", code=1)
    assert "already exists" in out


def test_a_bad_expiry_is_refused(civic):
    out = civic("orgs", "add", "Other", "--source", "x", "--scope", "y", "--expires", "90 days", code=2)
    assert "ISO 8601 duration" in out


def test_send_json_and_jsonl_then_show_the_journey(civic, tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(event(1, "ana", class1_contribution_years=2)))
    (tmp_path / "many.jsonl").write_text("\n".join(json.dumps(event(n, f"p{n}")) for n in range(2, 5)))
    assert "1 accepted" in civic("events", "send", str(tmp_path / "one.json"), "--org", "Northfield")
    assert "3 accepted" in civic("events", "send", str(tmp_path / "many.jsonl"), "--org", "Northfield")
    assert "1 duplicate" in civic("events", "send", str(tmp_path / "one.json"), "--org", "Northfield")
    assert json.loads(civic("journeys", "list", "--person", "ana", "--json")) == []  # not yet run
    from civicmoments.bootstrap import build
    from civicmoments.settings import Settings

    build(Settings(data_dir=tmp_path)).worker.drain()
    (journey,) = json.loads(civic("journeys", "list", "--person", "ana", "--json"))
    shown = civic("journeys", "show", journey["id"])
    assert "step-started" in shown and "[assess]" in shown
    view = json.loads(civic("journeys", "show", journey["id"], "--json"))
    assert view["steps"]["assess"]["status"] == "done"


def test_send_csv(civic, tmp_path):
    csv = tmp_path / "leavers.csv"
    csv.write_text("notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"
                   "N-9,zed,redundancy,2026-11-20,50,2,driver\n")
    out = civic("events", "send", str(csv), "--org", "Northfield", "--type", JOB_ENDED,
                "--source", "https://northfield.example/hr")
    assert "1 accepted" in out
    out = civic("events", "send", str(csv), "--org", "Northfield", "--source", "x", code=1)
    assert "needs --type" in out


def test_rejected_events_are_reported_and_exit_non_zero(civic, tmp_path):
    bad = event(7, "bo", reason="laid off")
    (tmp_path / "bad.json").write_text(json.dumps([bad, event(8, "cy")]))
    result = civic("events", "send", str(tmp_path / "bad.json"), "--org", "Northfield", code=1)
    assert "/data/reason" in result and "1 accepted, 1 rejected" in result


def test_a_file_that_is_not_json_names_the_line(civic, tmp_path):
    (tmp_path / "broken.json").write_text('{"id": "x",\n  oops}')
    out = civic("events", "send", str(tmp_path / "broken.json"), "--org", "Northfield", code=1)
    assert "broken.json:2:" in out


def test_quarantine_and_replay(civic, tmp_path):
    assert "quarantine is empty" in civic("events", "quarantine")
    out = civic("events", "replay", code=2)
    assert "--all" in out
    assert "0 event(s)" in civic("events", "replay", "--all")
    assert "no dead letters" in civic("events", "dead-letters")
    # numbers no event could have are refused plainly, not with a stack trace; a number that names no
    # quarantined event is said so
    for bad in ("99999999999999999999999", "0", "seven"):
        out = civic("events", "replay", "--", bad, code=2)
        assert "Invalid value for '[SEQS]...'" in out and "Traceback" not in out, out
    assert "not both" in civic("events", "replay", "--all", "16", code=2)
    out = civic("events", "replay", "999")
    assert "0 event(s) back in the inbox" in out and "1 of the numbers given name no quarantined event" in out


def test_unknown_organisation(civic, tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(event(1, "ana")))
    out = civic("events", "send", str(tmp_path / "one.json"), "--org", "Nobody", code=1)
    assert "no organisation named 'Nobody'" in out


def test_cancel_a_journey(civic, tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(event(1, "ana")))
    civic("events", "send", str(tmp_path / "one.json"), "--org", "Northfield")
    from civicmoments.bootstrap import build
    from civicmoments.settings import Settings

    app = build(Settings(data_dir=tmp_path))
    app.worker.drain()
    (j,) = app.store.journeys_for("ana")
    civic("journeys", "cancel", j.id, "--reason", "asked to stop")
    app.worker.drain()
    view = json.loads(civic("journeys", "show", j.id, "--json"))
    assert view["status"] == "cancelled"
    assert view["timeline"][-1]["detail"] == {"reason": "asked to stop"}
    assert "no journey" in civic("journeys", "cancel", "nope", "--reason", "x", code=1)


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    from ..conftest import TEST_KEYS

    env = civic_env(tmp_path, CIVIC_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", **TEST_KEYS)
    result = CliRunner().invoke(main, ["orgs", "list"], env=env)
    assert result.exit_code == 1
    assert "cannot use the database (CIVIC_DATABASE_URL)" in result.output and "Traceback" not in result.output


def test_a_shared_database_without_keys_is_a_clear_error(tmp_path):
    env = civic_env(tmp_path, CIVIC_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(main, ["orgs", "list"], env=env)
    assert result.exit_code == 1 and "CIVIC_PSEUDONYM_KEYS" in result.output
