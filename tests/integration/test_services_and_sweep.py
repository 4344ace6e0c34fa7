"""Rules as code in use: decisions with their reasons, services for a person, the sweep."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from civicmoments.adapters.store.schema import inbox
from civicmoments.cli import main
from civicmoments.packs import PackError
from civicmoments.rules.catalogue import load_catalogue
from civicmoments.rules.openfisca import RulesEngine

from ..conftest import UK_PACK

ON = date(2025, 6, 1)


@pytest.fixture
def family(app):
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    parent = app.registry.add_person()
    app.registry.record(hmrc, parent, [{"attribute": "date_of_birth", "value": "1990-05-01"},
                                       {"attribute": "employment_status", "value": "unemployed"},
                                       {"attribute": "class1_earnings_last_year_pence", "value": 2_800_000},
                                       {"attribute": "class1_earnings_year_before_pence", "value": 2_650_000}])
    kids = []
    for dob in ("2015-05-01", "2025-03-01"):
        kid = app.registry.add_person()
        app.registry.record(hmrc, kid, [{"attribute": "date_of_birth", "value": dob}])
        kids.append(kid)
    home = app.registry.join_household(None, parent, "adult")
    for kid in kids:
        app.registry.join_household(home, kid, "child")
    teen = app.registry.add_person()
    app.registry.record(hmrc, teen, [{"attribute": "date_of_birth", "value": "2010-02-21"}])
    return {"hmrc": hmrc, "parent": parent, "kids": kids, "teen": teen}


def test_services_are_ranked_by_value_and_dated_when_coming(app, family):
    result = app.services.for_person(family["parent"], ON)
    now = [e["service"] for e in result["eligible"]]
    assert now[:2] == ["jsa-new-style", "child-benefit"]  # £92.05 a week before £43.30
    assert result["eligible"][1]["amount"] == 43.30
    # 68: born after 5 April 1978 (Pensions Act 2007)
    assert [(e["service"], e["from"]) for e in result["becoming_eligible"]] == [("state-pension", "2058-05-01")]
    assert now[2:] == ["register-to-vote", "universal-credit"]  # a screener comes after what is awarded
    assert "not_eligible" not in result and result["not_eligible_count"] == 3  # with Bereavement Support Payment
    shown = app.services.for_person(family["parent"], ON, include_not_eligible=True)
    reasons = {e["service"]: e["reason"] for e in shown["not_eligible"]}
    assert "ended on" in reasons["childhood-immunisations"]
    assert "rarely needed" in reasons["provisional-licence"]  # a 35-year-old is not offered it first


def test_a_teenager_is_told_what_is_coming(app, family):
    result = app.services.for_person(family["teen"], ON)
    soon = {e["service"]: e["from"] for e in result["becoming_eligible"]}
    assert soon["provisional-licence"] == "2025-11-21" and soon["register-to-vote"] == "2026-02-21"


def test_a_missing_input_means_unknown_and_ask_not_a_default(app, family):
    d = app.services.explain(family["teen"], "jsa-new-style", ON)
    assert d.status == "unknown" and d.outputs == {}
    assert {a["attribute"] for a in d.ask} == {"employment_status", "class1_earnings_last_year_pence",
                                               "class1_earnings_year_before_pence"}


def test_a_decision_explains_itself_with_its_inputs_and_the_law(app, family):
    d = app.services.explain(family["parent"], "jsa-new-style", ON)
    assert d.status == "decided" and d.outputs["jsa_new_style_eligible"] is True
    assert d.outputs["jsa_new_style_weekly_rate"] == 92.05
    assert d.outputs["jsa_relevant_tax_year_later"] == 2023  # and what its words use: the tax years
    assert {(i["attribute"], i["tier"], i["source"]) for i in d.inputs} >= {
        ("date_of_birth", "gold", family["hmrc"].id),
        ("class1_earnings_last_year_pence", "gold", family["hmrc"].id)}
    assert "Jobseekers Act 1995, s.2" in d.explanation
    assert "GOV.UK, Benefit and pension rates 2025 to 2026" in d.references
    assert "Age in whole years on the day: 35" in d.explanation


def test_a_refusal_is_adverse_and_waits_for_a_person(app, family):
    app.registry.record(family["hmrc"], family["parent"], [{"attribute": "class1_earnings_year_before_pence",
                                                             "value": 100_000}])
    d = app.services.explain(family["parent"], "jsa-new-style", ON)
    assert d.adverse and d.status == "pending-review"
    shown = app.services.for_person(family["parent"], ON, include_not_eligible=True)
    jsa = next(e for e in shown["not_eligible"] if e["service"] == "jsa-new-style")
    assert jsa["pending_review"] is True


def test_the_sweep_emits_milestones_and_eligibility_changes_once(app, family):
    from civicmoments.cli import run_sweep

    first = run_sweep(app, date(2025, 11, 21), date(2025, 11, 20), show_progress=False)
    # The teen's licence and National Insurance letter (both at 15 years 9 months); the parent's JSA and
    # Universal Credit, and Child Benefit for the household's adult.
    assert first == {"people": 4, "milestones": 2, "eligibility": 3}
    again = run_sweep(app, date(2025, 11, 21), date(2025, 11, 20), show_progress=False)
    assert again == {"people": 4, "milestones": 0, "eligibility": 0}
    app.registry.record(family["hmrc"], family["parent"], [{"attribute": "employment_status", "value": "employed"}])
    later = run_sweep(app, date(2025, 11, 22), show_progress=False)
    assert later["eligibility"] == 2  # New Style JSA and Universal Credit both stop
    with app.store.reader.connect() as conn:
        rows = conn.execute(select(inbox.c.type, inbox.c.subject, inbox.c.data).order_by(inbox.c.seq)).all()
    seen = sorted((r.type, r.subject, r.data.get("milestone") or r.data.get("service"), r.data.get("eligible"))
                  for r in rows)
    parent, teen = family["parent"], family["teen"]
    assert seen == sorted([
        ("civic.milestone.reached", teen, "provisional_licence_from_date", None),
        ("civic.milestone.reached", teen, "ni_number_letter_date", None),
        ("civic.eligibility.changed", parent, "jsa-new-style", True),
        ("civic.eligibility.changed", parent, "child-benefit", True),
        ("civic.eligibility.changed", parent, "universal-credit", True),
        ("civic.eligibility.changed", parent, "universal-credit", False),
        ("civic.eligibility.changed", parent, "jsa-new-style", False)])


def test_civic_explain_prints_the_decision(app, family, tmp_path, monkeypatch):
    monkeypatch.setattr("civicmoments.cli.common._app", lambda **_: app)
    result = CliRunner().invoke(main, ["explain", family["parent"], "jsa-new-style", "--on", "2025-06-01"])
    assert result.exit_code == 0, result.output
    assert "decided" in result.output and "jsa_new_style_weekly_rate = 92.05" in result.output
    bad = CliRunner().invoke(main, ["explain", family["parent"], "moon-landing"])
    assert bad.exit_code == 1 and "no service 'moon-landing'" in bad.output


def test_a_catalogue_entry_naming_an_unknown_variable_is_refused(tmp_path, app):
    file = tmp_path / "services.yaml"
    file.write_text((UK_PACK / "services.yaml").read_text().replace("jsa_new_style_weekly_rate",
                                                                    "jsa_weekly_rate_typo"))
    with pytest.raises(PackError, match="'jsa_weekly_rate_typo' is not a variable of the rules"):
        load_catalogue(file, app.rules.tbs.variables, app.pack.attributes)


def test_a_parameter_without_a_reference_or_a_date_is_refused(tmp_path):
    for broken, words in (("reference", "no legal reference"), ("values", "must be valid YYYY-MM-DD")):
        pack = tmp_path / broken
        shutil.copytree(UK_PACK, pack)
        param = pack / "openfisca" / "uk_rules" / "parameters" / "jsa_new_style" / "max_days.yaml"
        text = param.read_text()
        if broken == "reference":
            text = text.replace("reference:\n  - title: Jobseekers Act 1995, s.5(1) (duration of contribution-based "
                                "JSA), as amended\n    href: https://www.legislation.gov.uk/ukpga/1995/18/section/5\n",
                                "")
        else:
            text = text.split("values:")[0] + "values: {}\n"
        param.write_text(text)
        import sys

        for name in [m for m in sys.modules if m == "uk_rules" or m.startswith("uk_rules.")]:
            del sys.modules[name]
        sys.path.insert(0, str(pack / "openfisca"))
        try:
            with pytest.raises(PackError, match=words):
                RulesEngine(pack)
        finally:
            sys.path.remove(str(pack / "openfisca"))
            for name in [m for m in sys.modules if m == "uk_rules" or m.startswith("uk_rules.")]:
                del sys.modules[name]


def test_a_service_feeds_the_once_only_planner(app, family):
    plan = app.questions.plan(family["teen"], "child-benefit")
    assert [k["attribute"] for k in plan["known"]] == ["date_of_birth"] and plan["ask"] == []
    plan = app.questions.plan(family["teen"], "register-to-vote")
    (ask,) = plan["ask"]
    assert ask["attribute"] == "postcode" and "Register to vote" in ask["why"]
