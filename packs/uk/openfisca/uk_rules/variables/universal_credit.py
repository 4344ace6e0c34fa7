"""Universal Credit, as a screener: who may well be able to get it, and its standard allowance.

Not an award: Universal Credit depends on the household's income, housing costs, children,
health and savings, which a screener does not assess. It says who should be told about it."""

import numpy as np
from openfisca_core.periods import DAY
from openfisca_core.variables import Variable
from uk_rules.entities import Person


class savings(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    label = "Savings and other capital, in pounds"


class universal_credit_screened(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "May be able to get Universal Credit (a screener, not an award)"
    reference = ["Welfare Reform Act 2012, ss.3-4 (basic conditions)",
                 "Universal Credit Regulations 2013, reg. 18 (capital limit)"]
    documentation = """
    Of working age (at least 18 and under State Pension age), out of work, and with savings
    under the capital limit where savings are known. Low income while in work, couples,
    housing costs, children and health are not screened.
    """

    def formula_2013_04_29(person, period, parameters):
        p = parameters(period.start).universal_credit
        age = person("age", period)
        under_spa = np.datetime64(period.start.date) < person("state_pension_age_date", period)
        return (person("unemployed", period) * (age >= 18) * under_spa
                * (person("savings", period) < p.capital_limit))


class universal_credit_standard_allowance(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Universal Credit standard allowance for a single person, monthly"
    reference = "Universal Credit Regulations 2013, reg. 36"
    documentation = "The single claimant's standard allowance by age band; other elements are not screened."

    def formula_2025_04_07(person, period, parameters):
        p = parameters(period.start).universal_credit
        rate = np.where(person("age", period) < p.age_band, p.standard_allowance.single_under_25,
                        p.standard_allowance.single_25_or_over)
        return person("universal_credit_screened", period) * rate


class universal_credit_capital_limit(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Capital above which there is no Universal Credit, in pounds"
    reference = "Universal Credit Regulations 2013, reg. 18"

    def formula(person, period, parameters):
        return np.full(person.count, parameters(period.start).universal_credit.capital_limit)
