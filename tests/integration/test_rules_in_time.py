"""Rules that are true on the day: dated figures with their sources, no silent carry-forward, and
uprating that is visible before it is due."""

from __future__ import annotations

import shutil
import sys
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner

from civicmoments.cli import main
from civicmoments.packs import PackError
from civicmoments.rules.openfisca import RulesEngine

from ..conftest import UK_PACK


@pytest.fixture
def claimant(app):
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "date_of_birth", "value": "1990-05-01"},
                                       {"attribute": "employment_status", "value": "unemployed"},
                                       {"attribute": "class1_earnings_last_year_pence", "value": 2_800_000},
                                       {"attribute": "class1_earnings_year_before_pence", "value": 2_650_000}])
    return person


def test_a_decision_in_2026_27_uses_its_figures_and_cites_their_page(app, claimant):
    d = app.services.explain(claimant, "jsa-new-style", date(2026, 11, 29))
    assert d.status == "decided" and d.outputs["jsa_new_style_weekly_rate"] == 95.55
    assert "GOV.UK, Benefit and pension rates 2026 to 2027" in d.references
    assert "GOV.UK, Benefit and pension rates 2025 to 2026" not in d.references


def test_the_lower_earnings_limit_is_cited_for_the_tax_years_it_was_read_for(app, claimant):
    # A claim in 2026 looks at 2023 to 2024 and 2024 to 2025: those years' pages, not this year's.
    d = app.services.explain(claimant, "jsa-new-style", date(2026, 6, 1))
    assert {"GOV.UK, Rates and thresholds for employers 2023 to 2024",
            "GOV.UK, Rates and thresholds for employers 2024 to 2025"} <= set(d.references)
    assert not any("employers 2026 to 2027" in r or "employers 2025 to 2026" in r for r in d.references)


def test_a_day_after_the_published_figures_is_unknown_with_the_reason(app, claimant):
    for day in (date(2027, 4, 6), date(2028, 1, 1)):
        d = app.services.explain(claimant, "jsa-new-style", day)
        assert d.status == "unknown" and d.outputs == {} and d.reason == "not-published"
        assert "the rates for that day are not published yet" in d.explanation
    assert app.services.explain(claimant, "jsa-new-style", date(2027, 4, 5)).outputs[
        "jsa_new_style_weekly_rate"] == 95.55
    kid = app.registry.add_person()
    app.registry.record(app.organisations.add("GRO", ["g"], ["facts:*"])[0], kid,
                        [{"attribute": "date_of_birth", "value": "2020-01-01"}])
    home = app.registry.join_household(None, claimant, "adult")
    app.registry.join_household(home, kid, "child")
    assert app.services.explain(claimant, "child-benefit", date(2027, 5, 1)).reason == "not-published"


def test_a_day_before_any_rules_is_unknown_not_a_no(app, claimant):
    d = app.services.explain(claimant, "jsa-new-style", date(2024, 4, 7))
    assert d.status == "unknown" and not d.adverse and d.reason == "no-rules"
    assert "no rules in force on that day" in d.explanation
    assert app.services.explain(claimant, "jsa-new-style", date(2024, 4, 8)).outputs[
        "jsa_new_style_weekly_rate"] == 90.50


def test_civic_explain_says_why_a_day_is_unknown(app, claimant, monkeypatch):
    monkeypatch.setattr("civicmoments.cli.common._app", lambda **_: app)
    out = CliRunner().invoke(main, ["explain", claimant, "jsa-new-style", "--on", "2024-04-07"])
    assert out.exit_code == 0 and "unknown" in out.output and "no rules in force on that day" in out.output
    assert "Entitled" not in out.output


def _set(clock, when):
    clock.advance(when - clock.now())


def test_civic_rules_check_lists_figures_ending_within_90_days(app, monkeypatch):
    monkeypatch.setattr("civicmoments.cli.common._app", lambda **_: app)
    _set(app.clock, datetime(2026, 11, 29, 12, tzinfo=timezone.utc))
    quiet = CliRunner().invoke(main, ["rules", "check"])
    assert quiet.exit_code == 0 and "No published figures end within 90 days of 2026-11-29" in quiet.output
    _set(app.clock, datetime(2027, 1, 10, 12, tzinfo=timezone.utc))
    due = CliRunner().invoke(main, ["rules", "check"])
    assert due.exit_code == 0, due.output
    for name in ("jsa_new_style.rate_25_or_over", "jsa_new_style.rate_under_25", "child_benefit.eldest",
                 "child_benefit.other", "jsa_new_style.lower_earnings_limit"):
        assert f"{name}:" in due.output
    assert "published until 2027-04-05 (85 day(s) left)" in due.output
    assert "jsa_new_style.max_days" not in due.output  # not uprated: nothing declared


def _broken_pack(tmp_path, name, edit):
    pack = tmp_path / name
    shutil.copytree(UK_PACK, pack)
    param = pack / "openfisca" / "uk_rules" / "parameters" / "jsa_new_style" / "rate_under_25.yaml"
    param.write_text(edit(param.read_text()))
    return pack, param


@pytest.mark.parametrize("name, edit, words", [
    ("early", lambda t: t.replace("published_until: 2027-04-05", "published_until: 2026-01-01"),
     "published_until 2026-01-01 of jsa_new_style.rate_under_25 is earlier than its last value, dated 2026-04-06"),
    ("not-a-date", lambda t: t.replace("published_until: 2027-04-05", "published_until: next spring"),
     "published_until of jsa_new_style.rate_under_25 must be a date"),
])
def test_a_published_until_that_does_not_fit_refuses_to_load(tmp_path, name, edit, words):
    pack, param = _broken_pack(tmp_path, name, edit)
    line = next(i for i, ln in enumerate(param.read_text().splitlines(), 1) if "published_until" in ln)
    for mod in [m for m in sys.modules if m == "uk_rules" or m.startswith("uk_rules.")]:
        del sys.modules[mod]
    sys.path.insert(0, str(pack / "openfisca"))
    try:
        with pytest.raises(PackError, match=words) as caught:
            RulesEngine(pack)
        assert caught.value.file == str(param) and caught.value.line == line
    finally:
        sys.path.remove(str(pack / "openfisca"))
        for mod in [m for m in sys.modules if m == "uk_rules" or m.startswith("uk_rules.")]:
            del sys.modules[mod]


def test_the_simple_rules_for_unknown_subjects_are_dated_too(app):
    from civicmoments.adapters.effects.local import SimpleRulesProvider
    from civicmoments.domain.clock import FakeClock
    from civicmoments.engine.ports import Effect

    def rate(day: datetime, age: int):
        provider = SimpleRulesProvider(app.pack.rules, FakeClock(day))
        effect = Effect(key="k", journey=None, person="p", step="assess", kind="decide",
                        payload={"spec": {"variables": ["jsa_new_style_eligible", "jsa_new_style_weekly_rate"]},
                                 "event": {"data": {"age": age, "class1_contribution_years": 2}}},
                        max_attempts=1, backoff_seconds=1.0, id=0, attempts=1)
        return provider.perform([effect])[0].result

    assert rate(datetime(2026, 4, 5, 12, tzinfo=timezone.utc), 40)["outputs"]["jsa_new_style_weekly_rate"] == 92.05
    assert rate(datetime(2026, 4, 6, 12, tzinfo=timezone.utc), 40)["outputs"]["jsa_new_style_weekly_rate"] == 95.55
    assert rate(datetime(2026, 11, 29, 12, tzinfo=timezone.utc), 20)["outputs"]["jsa_new_style_weekly_rate"] == 75.65
    late = rate(datetime(2027, 4, 6, 12, tzinfo=timezone.utc), 40)
    assert late["status"] == "unknown" and late["reason"] == "not-published" and late["outputs"] == {}
    early = rate(datetime(2025, 1, 1, 12, tzinfo=timezone.utc), 40)
    assert early["status"] == "unknown" and early["reason"] == "no-rules"


def test_simple_rules_with_a_bad_date_refuse_to_load(tmp_path):
    from civicmoments.packs.loader import load_rules

    text = (UK_PACK / "rules" / "simple.yaml").read_text()
    for broken, words in ((text.replace("published_until: 2027-04-05", "published_until: 2026-01-01"),
                           "no earlier than its last formula"),
                          (text.replace("2026-04-06:", "2026-13-06:"), "'2026-13-06' is not a day")):
        file = tmp_path / "simple.yaml"
        file.write_text(broken)
        with pytest.raises(PackError, match=words) as caught:
            load_rules(file)
        assert caught.value.line is not None
