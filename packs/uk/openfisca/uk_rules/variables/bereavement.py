"""Bereavement Support Payment, for the partner of someone who died on or after 6 April 2017."""

from datetime import date

import numpy as np
from openfisca_core.periods import DAY
from openfisca_core.variables import Variable
from uk_rules.dates import parts
from uk_rules.entities import Person

GOV_UK = "GOV.UK, Bereavement Support Payment (https://www.gov.uk/bereavement-support-payment)"
FIRST_DEATH = np.datetime64("2017-04-06")  # before this, Bereavement Allowance and Widowed Parent's Allowance


class partner_died_on(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "The day the person's husband, wife or civil partner died"
    reference = "Pensions Act 2014, s.30"


class late_partner_contributed(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "The partner who died paid National Insurance contributions for at least 25 weeks in a tax year"
    reference = ["Pensions Act 2014, s.30(1)(b)", GOV_UK]


class bsp_months_since_death(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "Whole months from the partner's death to the day of the claim"

    def formula(person, period, parameters):
        died = np.asarray(person("partner_died_on", period), dtype="datetime64[D]")
        dy, dm, dd = parts(died)
        on = np.datetime64(period.start.date)
        oy, om, od = parts(np.full(len(died), on))
        return (oy - dy) * 12 + (om - dm) - (od < dd)


class bsp_eligible(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "Entitled to Bereavement Support Payment"
    reference = ["Pensions Act 2014, s.30", GOV_UK]
    documentation = """
    The partner died on or after 6 April 2017, had paid National Insurance contributions for at
    least 25 weeks in one tax year, the person was under State Pension age when they died, and
    the claim is made within 21 months of the death. Deaths caused by an accident at work or an
    industrial disease (no contributions needed) are not modelled.
    """

    def formula(person, period, parameters):
        p = parameters(period.start).bereavement_support
        died = np.asarray(person("partner_died_on", period), dtype="datetime64[D]")
        under_spa = np.asarray(person("state_pension_age_date", period), dtype="datetime64[D]") > died
        in_window = person("bsp_months_since_death", period) < int(p.claim_window_months)
        return (died >= FIRST_DEATH) & person("late_partner_contributed", period) & under_spa & in_window \
            & (died <= np.datetime64(period.start.date))


class bsp_higher_rate(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "Bereavement Support Payment at the higher rate (the household gets Child Benefit)"
    reference = ["Bereavement Support Payment Regulations 2017, reg. 3", GOV_UK]

    def formula(person, period, parameters):
        return person.household("child_benefit_eligible", period)


class bsp_first_payment(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Bereavement Support Payment, the first payment"
    reference = ["Bereavement Support Payment Regulations 2017, reg. 3", GOV_UK]

    def formula(person, period, parameters):
        p = parameters(period.start).bereavement_support
        rate = np.where(person("bsp_higher_rate", period), p.higher_lump_sum, p.lower_lump_sum)
        return person("bsp_eligible", period) * rate


class bsp_monthly_rate(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    unit = "currency-GBP"
    label = "Bereavement Support Payment, each monthly payment"
    reference = ["Bereavement Support Payment Regulations 2017, reg. 3", GOV_UK]

    def formula(person, period, parameters):
        p = parameters(period.start).bereavement_support
        rate = np.where(person("bsp_higher_rate", period), p.higher_monthly, p.lower_monthly)
        return person("bsp_eligible", period) * rate


class bsp_monthly_payments(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "Bereavement Support Payment, how many monthly payments (fewer for a claim after 3 months)"
    reference = ["Social Security (Claims and Payments) Regulations 1987, Sch. 4 para. 18", GOV_UK]

    def formula(person, period, parameters):
        p = parameters(period.start).bereavement_support
        late = np.maximum(person("bsp_months_since_death", period) - int(p.full_claim_months), 0)
        return person("bsp_eligible", period) * np.clip(int(p.monthly_payments) - late, 0, int(p.monthly_payments))
