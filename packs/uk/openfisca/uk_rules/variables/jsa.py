"""New Style Jobseeker's Allowance."""

import numpy as np
from openfisca_core.periods import DAY
from openfisca_core.variables import Variable
from uk_rules.entities import Person


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
    Simplified: out of work; at least 18 and under State Pension age; enough Class 1
    contributions in both of the last two complete tax years (given as a count, not worked
    out from earnings); fewer than 182 days already paid in this jobseeking period. The
    availability and actively-seeking conditions, the claimant commitment, and earnings
    from part-time work are not modelled.
    """

    def formula_2024_04_08(person, period, parameters):
        p = parameters(period.start).jsa_new_style
        age = person("age", period)
        spa = person("state_pension_age_date", period)
        under_spa = np.datetime64(period.start.date) < spa
        return (person("unemployed", period) * (age >= 18) * under_spa
                * (person("class1_contribution_years", period) >= p.contribution_years)
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
