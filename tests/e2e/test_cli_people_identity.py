"""Commands an operator needs to record facts, build a household and decide a possible match."""

from __future__ import annotations

import json

from .test_cli import cli


def test_facts_households_and_identity_by_command(tmp_path):
    civic = cli(tmp_path)
    civic("orgs", "add", "HMRC", "--source", "https://hmrc.example/*", "--scope", "facts:*")
    abe = civic("people", "add").strip()
    out = civic("people", "facts", "add", abe, "given_name=Abe", "family_name=Ashworth",
                "date_of_birth=1981-03-14", "postcode=LS1 4AP", "class1_earnings_last_year_pence=3100000",
                "--org", "HMRC")
    assert f"recorded 5 fact(s) for {abe} from HMRC" in out
    shown = json.loads(civic("people", "show", abe, "--json"))
    assert shown["postcode"]["value"] == "LS1 4AP" and shown["class1_earnings_last_year_pence"]["value"] == 3100000
    assert shown["given_name"]["source"] != "self"
    assert "No such organisation 'Nobody'" in civic("people", "facts", "add", abe, "x=1", "--org", "Nobody", code=1)
    assert "ATTRIBUTE=VALUE" in civic("people", "facts", "add", abe, "novalue", "--org", "HMRC", code=2)

    household = civic("households", "join", abe, "--role", "adult").strip()
    child = civic("people", "add").strip()
    assert civic("households", "join", child, "--household", household, "--role", "child").strip() == household
    members = json.loads(civic("households", "show", household, "--json"))
    assert sorted(m["role"] for m in members) == ["adult", "child"]

    # A second record that may be Abe, or a twin (another given name): left for a person to decide.
    other = civic("people", "add").strip()
    civic("people", "facts", "add", other, "given_name=Abel", "family_name=Ashworth", "date_of_birth=1981-03-14",
          "postcode=LS1 4AP", "--org", "HMRC")
    review = json.loads(civic("identity", "review", "--given-name", "Abe", "--family-name", "Ashworth",
                              "--date-of-birth", "1981-03-14", "--postcode", "LS1 4AP", "--json"))
    scores = {c["person"]: c["score"] for c in review["candidates"]}
    assert abe in scores and other in scores and 70 <= scores[other] < 96
    merge = civic("identity", "merge", abe, other, "--reason", "same NI letter on file").strip()
    assert merge
    assert f"merge {merge} reversed" in civic("identity", "keep-apart", merge)
    assert "No review case or merge" in civic("identity", "keep-apart", merge, code=1)


def test_identity_review_reads_the_stored_queue_and_a_decision_takes_the_item_out(tmp_path):
    civic = cli(tmp_path)
    civic("orgs", "add", "HMRC", "--source", "https://hmrc.example/*", "--scope", "facts:*")
    abe = civic("people", "add").strip()
    civic("people", "facts", "add", abe, "given_name=Abe", "family_name=Ashworth", "--org", "HMRC")
    assert civic("identity", "review").strip() == "nothing to review"
    report = tmp_path / "leavers.csv"
    report.write_text("notice_ref,person_id,reason,last_day,age,ni_years,occupation\n"
                      "N-1,abe-as-northfield-knows-him,redundancy,2026-11-20,45,2,welder\n"
                      "N-2,someone-else,redundancy,2026-11-20,38,2,machinist\n")
    sent = civic("events", "send", str(report), "--org", "Northfield", "--type", "uk.gov.dwp.employment.job-ended",
                 "--source", "https://northfield.example/hr")
    assert "2 held" in sent
    listed = civic("identity", "review")
    assert "subject 'abe-as-northfield-knows-him': uk.gov.dwp.employment.job-ended N-1 from Northfield" in listed
    assert "subject 'someone-else'" in listed and "nobody scores 70 or more" in listed
    queue = {i["subject"]: i for i in json.loads(civic("identity", "review", "--json"))}
    first, second = queue["abe-as-northfield-knows-him"]["case"], queue["someone-else"]["case"]
    assert queue["someone-else"]["event"]["id"] == "N-2" and queue["someone-else"]["candidates"] == []

    assert "--reason" in civic("identity", "keep-apart", second, code=2)
    said = civic("identity", "merge", first, abe, "--reason", "Northfield's payroll number is on his P45")
    assert said.strip() == f"case {first} decided: 'abe-as-northfield-knows-him' is {abe}; it has left the review queue"
    assert [i["case"] for i in json.loads(civic("identity", "review", "--json"))] == [second]
    kept = civic("identity", "keep-apart", second, "--reason", "no one of that name worked there")
    assert "kept apart; it has left the review queue" in kept
    assert civic("identity", "review").strip() == "nothing to review"
    decided = json.loads(civic("cases", "show", first, "--json"))  # recorded on the case
    assert decided["status"] == "resolved" and decided["outcome"] == "verified"
    assert abe in decided["outcome_reason"] and "P45" in decided["outcome_reason"]
    assert json.loads(civic("cases", "show", second, "--json"))["outcome"] == "rejected"
    assert "decided already" in civic("identity", "merge", first, abe, "--reason", "again", code=1)
    nobody = civic("identity", "merge", "nobody-at-all", abe, "--reason", "x", code=1)
    assert "nobody-at-all" in nobody and "Traceback" not in nobody


def test_civic_from_another_folder_finds_its_pack_and_says_which_database(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from civicmoments.cli import main

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    unset = {k: None for k in __import__("os").environ if k.startswith("CIVIC_")}
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()
    first = runner.invoke(main, ["orgs", "list"], env={**unset, "CIVIC_LOG_LEVEL": "WARNING"})
    assert first.exit_code == 0, first.output  # the pack is found from here (packs/uk beside the code)
    again = runner.invoke(main, ["orgs", "list"], env={**unset, "CIVIC_LOG_LEVEL": "WARNING"})
    said = first.stderr if hasattr(first, "stderr") else first.output
    assert "set CIVIC_DATA_DIR" in said and str(elsewhere) in said
    assert "note: no database" not in (again.stderr if hasattr(again, "stderr") else again.output)  # now it has one


def test_a_blank_reason_or_a_date_not_in_iso_form_is_refused_not_taken(tmp_path):
    from click.testing import CliRunner

    from civicmoments.cli import main

    env = {"CIVIC_DATA_DIR": str(tmp_path / "data"), "CIVIC_LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    first = runner.invoke(main, ["people", "add"], env=env).output.strip().splitlines()[-1]
    second = runner.invoke(main, ["people", "add"], env=env).output.strip().splitlines()[-1]
    scored = runner.invoke(main, ["identity", "review", "--given-name", "Abe", "--date-of-birth", "14/03/1981"],
                           env=env)
    assert scored.exit_code == 2 and "YYYY-MM-DD" in scored.output and "a new person" not in scored.output
    for command in (["identity", "merge", first, second, "--reason", "  "],
                    ["identity", "keep-apart", first, "--reason", " "]):
        blank = runner.invoke(main, command, env=env)
        assert blank.exit_code == 2 and "--reason" in blank.output, blank.output
    assert "merged" not in runner.invoke(main, ["people", "show", second], env=env).output


def test_a_sweep_window_backwards_or_before_the_rules_is_a_one_line_error(tmp_path):
    from click.testing import CliRunner

    from civicmoments.cli import main

    env = {"CIVIC_DATA_DIR": str(tmp_path / "data"), "CIVIC_LOG_LEVEL": "WARNING", "CIVIC_NOW": "2026-11-30T09:00:00Z"}
    runner = CliRunner()
    runner.invoke(main, ["orgs", "add", "HMRC", "--source", "https://hmrc.example/*", "--scope", "facts:*"], env=env)
    person = runner.invoke(main, ["people", "add"], env=env).output.strip().splitlines()[-1]
    runner.invoke(main, ["people", "facts", "add", person, "given_name=Kai", "date_of_birth=2011-02-28",
                         "--org", "HMRC"], env=env)
    backwards = runner.invoke(main, ["sweep", "--date", "2026-12-01", "--since", "2026-12-05"], env=env)
    assert backwards.exit_code == 2 and "--since" in backwards.output and "people" not in backwards.output
    ahead = runner.invoke(main, ["sweep", "--date", "2026-12-25"], env=env)  # not yet come: nothing is told
    assert ahead.exit_code == 2 and "after today, 2026-11-30" in ahead.output and "people" not in ahead.output
    early = runner.invoke(main, ["sweep", "--date", "1900-01-01", "--since", "1899-12-31"], env=env)
    assert early.exit_code == 1, early.output
    errors = [line for line in early.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "1900-01-01" in errors[0] and "Traceback" not in early.output, early.output
