"""Child Benefit."""

from openfisca_core.periods import DAY
from openfisca_core.variables import Variable
from uk_rules.entities import Household


class child_benefit_eligible(Variable):
    value_type = bool
    entity = Household
    definition_period = DAY
    label = "Entitled to Child Benefit"
    reference = "Social Security Contributions and Benefits Act 1992, ss.141-143"
    documentation = """
    Simplified: a household with at least one child under 16. Children of 16 to 19 in
    approved education or training, residence tests, and who in the household claims are
    not modelled. High income is not a reason to refuse: see child_benefit_hicbc_applies.
    """

    def formula(household, period, parameters):
        return household("number_of_children", period) > 0


class child_benefit_weekly(Variable):
    value_type = float
    entity = Household
    definition_period = DAY
    unit = "currency-GBP"
    label = "Child Benefit, weekly amount"
    reference = "Child Benefit (Rates) Regulations 2006, reg. 2"

    def formula_2024_04_08(household, period, parameters):
        p = parameters(period.start).child_benefit
        n = household("number_of_children", period)
        return (n > 0) * (p.eldest + (n - 1).clip(min=0) * p.other)


class child_benefit_hicbc_applies(Variable):
    value_type = bool
    entity = Household
    definition_period = DAY
    label = "Information: an adult's income is above the High Income Child Benefit Charge threshold"
    reference = "Income Tax (Earnings and Pensions) Act 2003, s.681C"
    documentation = "Information for the household only; it never refuses Child Benefit."

    def formula(household, period, parameters):
        threshold = parameters(period.start).child_benefit.hicbc_threshold
        return household.any(household.members("adjusted_net_income", period) > threshold)
