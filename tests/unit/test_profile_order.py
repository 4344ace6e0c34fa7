"""The profile picks the best fact: highest tier, then newest, then the one recorded last."""

from __future__ import annotations

from datetime import datetime, timezone

from civicmoments.domain.people import Basis, Fact, Tier, profile

AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def fact(value: str, fid: str, tier: Tier = Tier.SILVER) -> Fact:
    return Fact("p", "employment_status", value, "org", Basis.REPORTED, tier, AT, AT, fid)


def test_of_two_facts_observed_at_once_the_one_recorded_later_wins_even_past_nine():
    assert profile([fact("employed", "7"), fact("unemployed", "11")])["employment_status"].value == "unemployed"
    assert profile([fact("unemployed", "11"), fact("employed", "7")])["employment_status"].value == "unemployed"


def test_a_higher_tier_still_outranks_a_later_record():
    assert profile([fact("employed", "7", Tier.GOLD), fact("unemployed", "11")])["employment_status"].value == "employed"


def test_for_a_newest_wins_attribute_the_newest_fact_wins_whatever_its_tier():
    from datetime import timedelta

    register = Fact("p", "phone", "+447811123456", "hmrc", Basis.REGISTER, Tier.GOLD, AT, AT, "3")
    confirmed = Fact("p", "phone", "+447400123456", "self", Basis.DECLARED, Tier.BRONZE, AT + timedelta(minutes=1),
                     AT + timedelta(minutes=1), "4")
    assert profile([register, confirmed], newest_wins={"phone"})["phone"].value == "+447400123456"
    assert profile([confirmed, register], newest_wins={"phone"})["phone"].value == "+447400123456"
    assert profile([register, confirmed])["phone"].value == "+447811123456"  # other attributes: tier first
