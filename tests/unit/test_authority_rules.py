"""The pack's authority rules: what each life event needs of its sender, read with file:line errors."""

from __future__ import annotations

import pytest

from civicmoments.packs import load_pack
from civicmoments.packs.authority import load_authority
from civicmoments.packs.yamlmap import PackError

from ..conftest import UK_PACK

TYPES = {"uk.gov.dwp.employment.job-ended", "uk.gov.dwp.employment.job-started"}


def test_the_uk_pack_asks_for_the_employer_on_job_ended_and_job_started():
    pack = load_pack(UK_PACK)
    rules = load_authority(UK_PACK / "registry" / "authority.yaml", set(pack.event_types), set(pack.attributes))
    assert {t: (r.relationship.attribute, r.otherwise) for t, r in rules.rules.items() if r.relationship} == {
        t: ("employer", "refuse") for t in TYPES}
    assert "uk.gov.dwp.employment.employment-started" not in rules.rules  # the starter report begins it
    assert rules.identify_by == ("ni_number",)


def test_the_uk_pack_lets_only_registrars_report_births_and_deaths():
    pack = load_pack(UK_PACK)
    rules = load_authority(UK_PACK / "registry" / "authority.yaml", set(pack.event_types), set(pack.attributes))
    for t in ("uk.gov.gro.birth-registered", "uk.gov.gro.death-registered"):
        rule = rules.rules[t]
        assert (rule.sender.permission, rule.relationship, rule.otherwise) == ("registrar", None, "verification")


@pytest.mark.parametrize(("body", "line", "words"), [
    ("relationships:\n  employer: {attribute: employer}\nevents:\n  uk.gov.nope: {relationship: employer}\n",
     4, "not registered"),
    ("relationships:\n  employer: {attribute: employer}\nevents:\n"
     "  uk.gov.dwp.employment.job-ended: {relationship: landlord}\n", 4, "needs a 'relationship'"),
    ("relationships:\n  employer: {attribute: employer}\nevents:\n"
     "  uk.gov.dwp.employment.job-ended: {relationship: employer, otherwise: ignore}\n", 4, "'otherwise'"),
    ("relationships:\n  employer: {attribute: boss}\nevents: {}\n", 2, "not in any data domain"),
])
def test_a_rule_naming_what_does_not_exist_is_refused_with_its_line(tmp_path, body, line, words):
    file = tmp_path / "authority.yaml"
    file.write_text(body)
    with pytest.raises(PackError) as err:
        load_authority(file, TYPES, {"employer"})
    assert words in str(err.value) and f":{line}" in str(err.value)
