"""What the rules need to know about a person, and their age."""

from datetime import date

import numpy as np
from openfisca_core.periods import DAY, ETERNITY
from openfisca_core.variables import Variable
from uk_rules.dates import age_on
from uk_rules.entities import Household, Person


class date_of_birth(Variable):
    value_type = date
    entity = Person
    definition_period = ETERNITY
    label = "Date of birth"
    reference = "Births and Deaths Registration Act 1953"


class age(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "Age in whole years on the day"

    def formula(person, period, parameters):
        return age_on(person("date_of_birth", period), np.datetime64(period.start.date))


class unemployed(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "Not in paid work"


class class1_earnings_last_year(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    label = "Earnings on which Class 1 contributions were paid, in the later of the two relevant tax years"


class class1_earnings_year_before(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    label = "Earnings on which Class 1 contributions were paid, in the earlier of the two relevant tax years"


class class1_credited_years(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "Of the two relevant tax years, how many had Class 1 credits (for example for caring or sickness)"


class jsa_claim_days(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "Days of New Style JSA already paid in this jobseeking period"


class adjusted_net_income(Variable):
    value_type = float
    entity = Person
    definition_period = DAY
    label = "Adjusted net income for the year, in pounds"


class number_of_children(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "Children in the household under the Child Benefit age limit"

    def formula(household, period, parameters):
        limit = parameters(period.start).child_benefit.age_limit
        ages = household.members("age", period)
        is_child = household.members.has_role(Household.CHILD)
        return household.sum(is_child * (ages < limit))
