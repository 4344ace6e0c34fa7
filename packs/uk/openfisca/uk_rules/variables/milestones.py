"""Milestones in a life, each the date it falls on."""

from datetime import date

import numpy as np
from openfisca_core.periods import DAY
from openfisca_core.variables import Variable
from uk_rules.dates import after_birth, anniversary, parts
from uk_rules.entities import Person

IMMUNISATIONS = "UK routine childhood immunisation schedule (UKHSA, Green Book chapter 11)"


class immunisation_8_weeks_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "Immunisations due at 8 weeks"
    reference = IMMUNISATIONS

    def formula(person, period, parameters):
        return after_birth(person, period, days=56)


class immunisation_12_weeks_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "Immunisations due at 12 weeks"
    reference = IMMUNISATIONS

    def formula(person, period, parameters):
        return after_birth(person, period, days=84)


class immunisation_16_weeks_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "Immunisations due at 16 weeks"
    reference = IMMUNISATIONS

    def formula(person, period, parameters):
        return after_birth(person, period, days=112)


class immunisation_1_year_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "Immunisations due at 1 year"
    reference = IMMUNISATIONS

    def formula(person, period, parameters):
        return after_birth(person, period, years=1)


class immunisation_preschool_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "Pre-school booster due at 3 years 4 months"
    reference = IMMUNISATIONS

    def formula(person, period, parameters):
        return after_birth(person, period, years=3, months=4)


class ni_number_by_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "National Insurance number issued before this date (the 16th birthday)"
    reference = "Social Security Administration Act 1992, s.182C"

    def formula(person, period, parameters):
        return after_birth(person, period, years=16)


class provisional_licence_from_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "May apply for a provisional driving licence (15 years 9 months)"
    reference = "Road Traffic Act 1988, s.97(3)"

    def formula(person, period, parameters):
        return after_birth(person, period, years=15, months=9)


class may_drive_car_from_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "May drive a car (17)"
    reference = "Road Traffic Act 1988, s.101"

    def formula(person, period, parameters):
        return after_birth(person, period, years=17)


class register_to_vote_from_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "May register to vote in England, as an attainer (16)"
    reference = "Representation of the People Act 1983, s.4"

    def formula(person, period, parameters):
        return after_birth(person, period, years=16)


class state_pension_age_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "The day State Pension age is reached"
    reference = ["Pensions Act 1995, Schedule 4", "Pensions Act 2014, s.26"]
    documentation = """
    Born before 6 October 1954: simplified to 65 (all reached it before 2021). Born 6
    October 1954 to 5 April 1960: 66. Born 6 April 1960 to 5 March 1961: 66 and one more
    month for each month born after 5 April 1960. Born 6 March 1961 to 5 April 1977: 67.
    The later rise to 68 (Pensions Act 2007) is not yet modelled: 67 is used.
    """

    def formula(person, period, parameters):
        p = parameters("2014-05-14").state_pension.ages
        born = np.asarray(person("date_of_birth", period), dtype="datetime64[D]")
        year, month, day = parts(born)
        months_after = (year - 1960) * 12 + (month - 4) - (day < 6)  # whole months born after 5 April 1960
        step = np.clip(months_after + 1, 1, 11)
        early = born < np.datetime64("1954-10-06")
        sixty_six = born < np.datetime64("1960-04-06")
        stepped = born < np.datetime64("1961-03-06")
        years = np.where(early, p.born_before_1954_10_06, np.where(sixty_six | stepped, p.sixty_six, p.sixty_seven))
        extra = np.where(~sixty_six & stepped, step, 0)
        out = np.empty_like(born)
        for y in np.unique(years):
            for m in np.unique(extra):
                mask = (years == y) & (extra == m)
                if mask.any():
                    out[mask] = anniversary(born[mask], int(y), int(m))
        return out
