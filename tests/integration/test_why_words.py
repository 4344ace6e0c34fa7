"""Decisions in words people use, in English and Welsh: the plain sentence first, what would
change a "no", and never a variable name."""

from __future__ import annotations

import re
import shutil
from datetime import date

import pytest

from civicmoments.packs import PackError
from civicmoments.web.i18n import Words
from civicmoments.web.why import check_words, plain

from ..conftest import UK_PACK

ON = date(2026, 11, 29)
VARIABLE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")  # snake_case: a variable or attribute name


@pytest.fixture
def words():
    return Words(UK_PACK / "portal", ("en", "cy"))


def say(app, words, person, service_id, lang, on=ON):
    service = app.services.service(service_id)
    d = app.services.explain(person, service_id, on)
    return plain(d, service, lambda key, **v: words(lang, key, **v), lambda key: key in words.catalogues[lang],
                 lambda pounds: f"£{pounds:,.2f}", lambda iso: iso), d


def claimant(app, **facts):
    import uuid

    hmrc, _ = app.organisations.add(f"HMRC {uuid.uuid4().hex[:6]}", ["h"], ["facts:*"])
    pid = app.registry.add_person()
    base = {"date_of_birth": "1984-05-02", "employment_status": "unemployed",
            "class1_earnings_last_year_pence": 3_100_000, "class1_earnings_year_before_pence": 2_950_000}
    app.registry.record(hmrc, pid, [{"attribute": k, "value": v} for k, v in {**base, **facts}.items()])
    return pid


def test_a_yes_leads_with_one_plain_sentence_naming_the_two_tax_years(app, words):
    pid = claimant(app)
    rate = app.rules.tbs.parameters(ON.isoformat()).jsa_new_style.rate_25_or_over
    en, d = say(app, words, pid, "jsa-new-style", "en")
    assert en["summary"] == (f"You can get £{rate:.2f} a week for up to 182 days, because you paid enough National "
                             "Insurance in the two tax years that count for your claim: 2023 to 2024 and "
                             "2024 to 2025.")
    cy, _ = say(app, words, pid, "jsa-new-style", "cy")
    assert cy["summary"].startswith(f"Gallwch gael £{rate:.2f} yr wythnos am hyd at 182 diwrnod")
    assert "2023 i 2024 a 2024 i 2025" in cy["summary"]
    for said in (en, cy):
        assert not VARIABLE.search(said["summary"]) and said["change"] is None
        assert len(said["laws"]) == len(set(said["laws"])) and said["laws"]
    assert any(i["attribute"] == "class1_earnings_last_year_pence" for i in d.inputs)  # named in words on the page


def test_a_no_says_what_would_change_it(app, words):
    pid = claimant(app, class1_earnings_last_year_pence=100_000, class1_earnings_year_before_pence=100_000)
    en, d = say(app, words, pid, "jsa-new-style", "en")
    assert d.adverse and en["status"] == "no"
    assert "2023 to 2024 and 2024 to 2025" in en["summary"]
    assert en["change"] == ("You would need to have paid National Insurance on earnings of at least £3,198.00 in "
                            "2023 to 2024 or £3,198.00 in 2024 to 2025, and to have paid or been credited with "
                            "National Insurance on earnings of at least £6,150.00 in 2023 to 2024 and £6,150.00 in "
                            "2024 to 2025.")
    cy, _ = say(app, words, pid, "jsa-new-style", "cy")
    assert "£3,198.00" in cy["change"] and "2023 i 2024" in cy["change"] and not VARIABLE.search(cy["change"])
    saver = claimant(app, savings_pence=2_000_000)
    uc, _ = say(app, words, saver, "universal-credit", "en")
    assert uc["status"] == "no" and "savings of less than £16,000.00" in uc["change"]
    cb, _ = say(app, words, pid, "child-benefit", "cy")
    assert cb["status"] == "no" and "blentyn dan 16 oed" in cb["change"]


def test_unknown_says_why_in_words(app, words):
    pid = claimant(app)
    later, _ = say(app, words, pid, "jsa-new-style", "en", on=date(2027, 6, 1))
    assert later["summary"] == ("We cannot decide about New Style Jobseeker's Allowance for 2027-06-01: "
                                "the rates for that day are not published yet.")
    before, _ = say(app, words, pid, "jsa-new-style", "cy", on=date(2024, 4, 7))
    assert "nid oedd unrhyw reolau mewn grym" in before["summary"] and "Lwfans Ceisio Gwaith" in before["summary"]
    hmrc = app.organisations.add("GRO", ["g"], ["facts:*"])[0]
    unknown = app.registry.add_person()
    app.registry.record(hmrc, unknown, [{"attribute": "date_of_birth", "value": "1984-05-02"}])
    missing, _ = say(app, words, unknown, "jsa-new-style", "en")
    assert missing["status"] == "unknown-missing-facts"
    assert set(missing["ask"]) == {"employment_status", "class1_earnings_last_year_pence",
                                   "class1_earnings_year_before_pence"}


def test_words_missing_in_one_language_refuse_to_load(tmp_path, app):
    folder = tmp_path / "portal"
    shutil.copytree(UK_PACK / "portal", folder)
    for key in ("why_universal-credit_change", "service.universal-credit"):
        cy = folder / "cy.yaml"
        original = cy.read_text()
        cy.write_text("\n".join(ln for ln in original.splitlines() if not ln.startswith(key + ":")) + "\n")
        en = folder / "en.yaml"
        en_original = en.read_text()
        en.write_text("\n".join(ln for ln in en_original.splitlines() if not ln.startswith(key + ":")) + "\n")
        with pytest.raises(PackError, match=f"missing words: {re.escape(key)}") as caught:
            check_words(Words(folder, ("en", "cy")), app.services.catalogue, folder)
        assert caught.value.file.endswith("en.yaml")
        cy.write_text(original)
        en.write_text(en_original)
