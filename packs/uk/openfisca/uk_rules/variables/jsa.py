"""New Style Jobseeker's Allowance."""

from datetime import date

import numpy as np
from openfisca_core.periods import DAY
from openfisca_core.variables import Variable
from uk_rules.entities import Person


def relevant_tax_years(day):
    """The last two complete tax years before the benefit year of ``day`` (start years).

    The benefit year begins on the first Sunday in January."""
    first_sunday = date(day.year, 1, 1 + (6 - date(day.year, 1, 1).weekday()) % 7)
    benefit_year = day.year if day >= first_sunday else day.year - 1
    return benefit_year - 2, benefit_year - 3


class jsa_contribution_conditions_met(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "The Class 1 contribution conditions for New Style JSA are met"
    reference = ["Jobseekers Act 1995, s.2(1)(a) and (b)", "Jobseekers Act 1995, Schedule 1 para. 2"]
    documentation = """
    First condition: Class 1 paid on earnings of at least 26 times the lower earnings limit
    in one of the last two complete tax years before the benefit year. Second: paid or
    credited on earnings of at least 50 times the limit in each of those years. Simplified:
    earnings are taken as given for each year (no week-by-week test), and a credited year
    counts in full for the second condition.
    """

    def formula(person, period, parameters):
        later, earlier = relevant_tax_years(period.start.date)
        m = parameters(period.start).jsa_new_style.contribution_multiples
        lel_later = parameters(f"{later}-04-06").jsa_new_style.lower_earnings_limit
        lel_earlier = parameters(f"{earlier}-04-06").jsa_new_style.lower_earnings_limit
        e_later = person("class1_earnings_last_year", period)
        e_earlier = person("class1_earnings_year_before", period)
        credited = person("class1_credited_years", period)
        paid_once = (e_later >= m.paid_in_one_year * lel_later) | (e_earlier >= m.paid_in_one_year * lel_earlier)
        each_year = ((e_later >= m.paid_or_credited_each_year * lel_later).astype(int)
                     + (e_earlier >= m.paid_or_credited_each_year * lel_earlier).astype(int) + credited) >= 2
        return paid_once * each_year


class jsa_new_style_eligible(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "Entitled to New Style Jobseeker's Allowance"
    reference = [
        "Jobseekers Act 1995, s.1 (the jobseeker's conditions)",
        "Jobseekers Act 1995, s.2 (the contribution-based conditions)",
        "Jobseekers Act 1995, s.5 (duration: 182 days)",
    ]
    documentation = """
    Simplified: out of work; at least 18 and under State Pension age; the Class 1
    contribution conditions met (see jsa_contribution_conditions_met); fewer than 182
    days already paid in this jobseeking period. The
    availability and actively-seeking conditions, the claimant commitment, and earnings
    from part-time work are not modelled.
    """

    def formula_2024_04_08(person, period, parameters):
        p = parameters(period.start).jsa_new_style
        age = person("age", period)
        spa = person("state_pension_age_date", period)
        under_spa = np.datetime64(period.start.date) < spa
        return (person("unemployed", period) * (age >= 18) * under_spa
                * person("jsa_contribution_conditions_met", period)
                * (person("jsa_claim_days", period) < p.max_days))


class jsa_new_style_weekly_rate(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "New Style Jobseeker's Allowance, weekly amount"
    reference = "Jobseeker's Allowance Regulations 1996, reg. 79"
    documentation = """
    The personal rate by age band (under 25; 25 or over). Deductions for pensions over
    £50 a week and for earnings are not modelled.
    """

    def formula_2024_04_08(person, period, parameters):
        p = parameters(period.start).jsa_new_style
        rate = np.where(person("age", period) < p.age_band, p.rate_under_25, p.rate_25_or_over)
        return person("jsa_new_style_eligible", period) * rate


class jsa_relevant_tax_year_later(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "The later of the two tax years that count for a claim (the year it starts)"
    reference = "Jobseekers Act 1995, s.2(4) (the relevant benefit year and tax years)"

    def formula(person, period, parameters):
        return np.full(person.count, relevant_tax_years(period.start.date)[0])


class jsa_relevant_tax_year_earlier(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "The earlier of the two tax years that count for a claim (the year it starts)"
    reference = "Jobseekers Act 1995, s.2(4) (the relevant benefit year and tax years)"

    def formula(person, period, parameters):
        return np.full(person.count, relevant_tax_years(period.start.date)[1])


def _needed(period, parameters, which: str, multiple: str):
    year = relevant_tax_years(period.start.date)[0 if which == "later" else 1]
    m = getattr(parameters(period.start).jsa_new_style.contribution_multiples, multiple)
    return m * parameters(f"{year}-04-06").jsa_new_style.lower_earnings_limit


class jsa_earnings_needed_one_year_later(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Earnings with Class 1 paid needed in the later year, if that is the year that meets the first condition"
    reference = "Jobseekers Act 1995, Schedule 1 para. 2; Jobseeker's Allowance Regulations 1996, reg. 45A"

    def formula(person, period, parameters):
        return np.full(person.count, _needed(period, parameters, "later", "paid_in_one_year"))


class jsa_earnings_needed_one_year_earlier(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Earnings with Class 1 paid needed in the earlier year, if that is the year that meets the first condition"
    reference = "Jobseekers Act 1995, Schedule 1 para. 2; Jobseeker's Allowance Regulations 1996, reg. 45A"

    def formula(person, period, parameters):
        return np.full(person.count, _needed(period, parameters, "earlier", "paid_in_one_year"))


class jsa_earnings_needed_each_year_later(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Earnings with Class 1 paid or credited needed in the later year (second condition)"
    reference = "Jobseekers Act 1995, s.2(1)(b)"

    def formula(person, period, parameters):
        return np.full(person.count, _needed(period, parameters, "later", "paid_or_credited_each_year"))


class jsa_earnings_needed_each_year_earlier(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Earnings with Class 1 paid or credited needed in the earlier year (second condition)"
    reference = "Jobseekers Act 1995, s.2(1)(b)"

    def formula(person, period, parameters):
        return np.full(person.count, _needed(period, parameters, "earlier", "paid_or_credited_each_year"))


class jsa_max_days(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    unit = "day"
    label = "Longest period New Style JSA is paid in one jobseeking period, in days"
    reference = "Jobseekers Act 1995, s.5(1)"

    def formula(person, period, parameters):
        return np.full(person.count, parameters(period.start).jsa_new_style.max_days)
