"""The payment schedule: uprating day, JSA's age-band birthday, Christmas and Easter, the 182-day end."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from civicmoments.adapters.bank_holidays import calendar
from civicmoments.domain.payments import (
    AgeBands,
    Award,
    AwardPeriod,
    Calendar,
    Frequency,
    Rate,
    RateNotPublishedError,
    RateTable,
    overpayments,
    schedule,
)
from civicmoments.engine.payments import bands_for, build_award
from civicmoments.rules.openfisca import RulesEngine

PACK = Path(__file__).resolve().parents[2] / "packs" / "uk"
JSA = {"frequency": "fortnightly-in-arrears",
       "rates": {0: "jsa_new_style.rate_under_25", 25: "jsa_new_style.rate_25_or_over"},
       "max_days": "jsa_new_style.max_days"}
RATES_2026 = "https://www.gov.uk/government/publications/benefit-and-pension-rates-2026-to-2027"


@pytest.fixture(scope="module")
def rules():
    return RulesEngine(PACK)


def jsa(rules, start, born=date(1980, 1, 1)):
    return build_award(rules, "jsa-new-style", JSA, "a1", "p1", start, born)


def test_the_pack_rates_are_the_published_2026_figures_in_pence(rules):
    bands = bands_for(rules, JSA)
    assert bands.tables[0].at(date(2026, 4, 6)) == Rate(date(2026, 4, 6), 7565, RATES_2026)
    assert bands.tables[25].at(date(2026, 4, 6)).pence == 9555
    assert bands.tables[25].at(date(2026, 4, 5)).pence == 9205
    assert bands.published_until() == date(2027, 4, 5)


def test_uprating_day_starts_a_new_period_and_the_fortnight_across_it_is_paid_by_the_day(rules):
    award = jsa(rules, date(2026, 3, 30))
    assert [(p.start, p.end, p.rate.pence) for p in award.periods] == [
        (date(2026, 3, 30), date(2026, 4, 5), 9205), (date(2026, 4, 6), award.end, 9555)]
    first = schedule(award, calendar()).payments[0]
    assert (first.start, first.end) == (date(2026, 3, 30), date(2026, 4, 12))
    assert first.amount == 9205 + 9555  # a week at each rate
    assert RATES_2026 in first.sources


def test_a_25th_birthday_moves_the_claimant_to_the_higher_rate_from_that_day(rules):
    award = jsa(rules, date(2026, 5, 1), born=date(2001, 5, 10))
    assert [(p.start, p.rate.pence, p.band) for p in award.periods] == [
        (date(2026, 5, 1), 7565, 0), (date(2026, 5, 10), 9555, 25)]
    first = schedule(award, calendar()).payments[0]
    assert first.amount == round(7565 * 9 / 7) + round(9555 * 5 / 7)  # 9 days under 25, 5 days at 25
    assert first.amount == 9726 + 6825


def test_jsa_ends_after_182_days_in_13_fortnights_and_is_paid_in_arrears(rules):
    award = jsa(rules, date(2026, 4, 6))
    assert award.end == date(2026, 10, 4)
    plan = schedule(award, calendar())
    assert plan.stops == "end" and plan.complete
    assert len(plan.payments) == 13
    assert sum(p.amount for p in plan.payments) == 13 * 2 * 9555
    assert plan.payments[-1].end == date(2026, 10, 4)
    assert plan.payments[-1].due == date(2026, 10, 5)


def test_christmas_and_the_substitute_boxing_day_bring_a_payment_forward_to_24_december(rules):
    award = jsa(rules, date(2026, 12, 14))
    first = schedule(award, calendar()).payments[0]
    assert first.due == date(2026, 12, 28)  # Boxing Day's substitute, after Christmas Day and a weekend
    assert first.pay_on == date(2026, 12, 24)
    award = jsa(rules, date(2026, 12, 11))
    assert schedule(award, calendar()).payments[0].due == date(2026, 12, 25)
    assert schedule(award, calendar()).payments[0].pay_on == date(2026, 12, 24)


def test_easter_monday_and_good_friday_bring_a_payment_back_to_maundy_thursday(rules):
    award = jsa(rules, date(2026, 3, 23))
    first = schedule(award, calendar()).payments[0]
    assert first.due == date(2026, 4, 6)  # Easter Monday 2026 (and uprating day)
    assert first.pay_on == date(2026, 4, 2)
    assert first.amount == 2 * 9205


def test_payments_stop_where_the_published_rates_stop_and_say_so(rules):
    award = jsa(rules, date(2027, 1, 4))
    assert award.periods[-1].end == date(2027, 4, 5)
    plan = schedule(award, calendar())
    assert plan.stops == "rates" and not plan.complete
    assert len(plan.payments) == 6 and plan.payments[-1].end == date(2027, 3, 28)
    assert plan.unpaid_from == date(2027, 3, 29)


def test_no_rate_published_for_the_start_is_refused_not_guessed(rules):
    with pytest.raises(RateNotPublishedError):
        jsa(rules, date(2027, 6, 1))


def test_the_bundled_bank_holidays_end_in_2028_and_a_later_due_day_is_not_scheduled():
    cal = calendar()
    assert cal.known_until == date(2028, 12, 31)
    assert date(2028, 12, 26) in cal.holidays
    table = RateTable((Rate(date(2028, 1, 1), 10000, "https://www.gov.uk/x"),), date(2029, 12, 31))
    award = Award("a", "s", "p", "p", Frequency.FORTNIGHTLY_ARREARS, date(2028, 12, 4), None,
                  (AwardPeriod(date(2028, 12, 4), date(2029, 12, 31), table.rates[0]),))
    plan = schedule(award, cal)
    assert plan.stops == "calendar"
    assert plan.payments[-1].due <= date(2028, 12, 31) < plan.unpaid_from + __import__("datetime").timedelta(14)


def test_child_benefit_is_paid_every_four_weeks(rules):
    award = build_award(rules, "child-benefit", {"frequency": "four-weekly-in-arrears",
                                                 "rates": {0: "child_benefit.eldest"}}, "c1", "p1",
                        date(2026, 6, 1), None)
    plan = schedule(award, calendar())
    assert [p.amount for p in plan.payments[:2]] == [4 * 2705, 4 * 2705]
    assert plan.payments[1].start == date(2026, 6, 29)
    assert plan.stops == "rates"


def test_bereavement_support_is_a_lump_sum_then_18_monthly_payments():
    bsp = "https://www.gov.uk/bereavement-support-payment"
    monthly = Rate(date(2017, 4, 6), 35000, bsp, per="month")
    award = Award("b", "bereavement-support", "p", "p", Frequency.LUMP_SUM_THEN_MONTHLY, date(2026, 1, 31), None,
                  (AwardPeriod(date(2026, 1, 31), date(2027, 7, 30), monthly),),
                  lump_sum=Rate(date(2017, 4, 6), 350000, bsp, per="lump"), payments_max=18)
    plan = schedule(award, Calendar(frozenset(), date(2028, 12, 31)))
    assert plan.payments[0].kind == "lump-sum" and plan.payments[0].amount == 350000
    assert plan.payments[0].pay_on == date(2026, 1, 30)  # 31 January 2026 is a Saturday
    assert len(plan.payments) == 19 and plan.payments[1].end == date(2026, 2, 27)
    assert plan.stops == "end"


def test_an_overpayment_shows_its_calculation_day_by_day_without_averaging(rules):
    award = jsa(rules, date(2026, 5, 4))  # paid at 25 or over
    paid = schedule(award, calendar()).payments[:2]
    under = AgeBands({0: bands_for(rules, JSA).tables[0]})
    corrected = build_award(rules, "jsa-new-style", {**JSA, "rates": {0: "jsa_new_style.rate_under_25"}},
                            "a1", "p1", date(2026, 5, 4), None).periods
    assert under.tables[0].at(date(2026, 5, 4)).pence == 7565
    found = overpayments(paid, corrected)
    assert [o.amount for o in found] == [2 * (9555 - 7565)] * 2
    assert found[0].lines[-1] == "Difference £39.80"
    assert RATES_2026 in found[0].lines[1]
