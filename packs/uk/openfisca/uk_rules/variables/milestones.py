"""Milestones in a life, each the date it falls on."""

from datetime import date

import numpy as np
from openfisca_core.periods import DAY, ETERNITY
from openfisca_core.variables import Variable
from uk_rules.dates import after_birth, anniversary, parts
from uk_rules.entities import Person

IMMUNISATIONS = "UK routine childhood immunisation schedule (UKHSA, Green Book chapter 11)"
SCHEDULE_2026 = ("UKHSA, Changes to the routine childhood schedule, Annexe A: the new routine childhood "
                 "vaccination schedule (18-month appointment from 1 January 2026)")
FIRST_BORN_FOR_18_MONTHS = np.datetime64("2024-07-01")


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


class immunisation_18_months_offered(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "Offered the 18-month immunisation appointment (born on or after 1 July 2024)"
    reference = SCHEDULE_2026

    def formula(person, period, parameters):
        return np.asarray(person("date_of_birth", period), dtype="datetime64[D]") >= FIRST_BORN_FOR_18_MONTHS


class immunisation_18_months_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "Immunisations due at 18 months (6-in-1 fourth dose and second MMR or MMRV)"
    reference = SCHEDULE_2026
    documentation = """
    The appointment added from 1 January 2026 for children born on or after 1 July 2024. For
    children born earlier there is no such appointment: the value is the variable's default
    (1 January 1970), a day no sweep reaches; see immunisation_18_months_offered.
    """

    def formula(person, period, parameters):
        due = after_birth(person, period, months=18)
        return np.where(person("immunisation_18_months_offered", period), due, np.datetime64("1970-01-01"))


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


class lives_in_wales(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "Lives in Wales"


class lives_in_scotland(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "Lives in Scotland"


class register_to_vote_from_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "May register to vote (14 in Wales and Scotland, 16 in England and Northern Ireland)"
    reference = ["Representation of the People Act 1983, s.4", "Scottish Elections (Reduction of Voting Age) Act 2015",
                 "Senedd and Elections (Wales) Act 2020"]
    documentation = """
    The registering age each nation's law sets, as it stood on the day asked about (dated
    parameters in voting/); voting itself comes later (16 in Wales and Scotland for devolved
    and local elections, 18 for UK Parliament elections).
    """

    def formula(person, period, parameters):
        p = parameters(period.start).voting
        years = np.where(person("lives_in_wales", period), int(p.registration_age_wales),
                         np.where(person("lives_in_scotland", period), int(p.registration_age_scotland),
                                  int(p.registration_age_england)))
        return anniversary(np.asarray(person("date_of_birth", period), dtype="datetime64[D]"), years)


class ni_number_letter_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "The National Insurance number letter is sent (3 months before the 16th birthday)"
    reference = "Social Security Administration Act 1992, s.182C; GOV.UK, National Insurance number"

    def formula(person, period, parameters):
        return after_birth(person, period, years=15, months=9)


class female(Variable):
    value_type = bool
    entity = Person
    definition_period = ETERNITY
    label = "Recorded as a woman (State Pension age differs only for those born before 6 December 1953)"
    reference = "Pensions Act 1995, Schedule 4, para. 1"


def _table(born, first_born: str, first_day: str, step_months: int):
    """A row of an Act's table: born in the k-th "6th to 5th" month after ``first_born`` (YYYY-MM),
    reach State Pension age on ``first_day`` (YYYY-MM-06) plus ``k * step_months`` months."""
    year, month, day = parts(born)
    fy, fm = (int(x) for x in first_born.split("-"))
    k = (year - fy) * 12 + (month - fm) - (day < 6)
    start = np.datetime64(first_day[:7], "M")
    return (start + (k * step_months).astype("timedelta64[M]")).astype("datetime64[D]") + np.timedelta64(5, "D")


class state_pension_age_date(Variable):
    value_type = date
    entity = Person
    definition_period = DAY
    label = "The day State Pension age is reached"
    reference = ["Pensions Act 1995, Schedule 4", "Pensions Act 2007, Schedule 3", "Pensions Act 2011, s.1",
                 "Pensions Act 2014, s.26"]
    documentation = """
    The timetable under current legislation (GOV.UK, State Pension age timetables):
    women born before 6 April 1950, 60; men born before 6 December 1953, 65; women born 6 April
    1950 to 5 April 1953, a date from 6 May 2010 to 6 March 2016 by the 1995 Act's table; women born
    6 April to 5 December 1953, a date from 6 July 2016 to 6 November 2018 by the 2011 Act's table;
    everyone born 6 December 1953 to 5 October 1954, a date from 6 March 2019 to 6 September 2020
    (2011 Act); born 6 October 1954 to 5 April 1960, 66; born 6 April 1960 to 5 March 1961, 66 and
    one month more for each month born after 5 April 1960 (2014 Act); born 6 March 1961 to 5 April
    1977, 67; born 6 April 1977 to 5 April 1978, a date from 6 May 2044 to 6 March 2046 (2007 Act's
    table); born 6 April 1978 or later, 68. Sex matters only before 6 December 1953; when it is not
    recorded, the men's timetable is used. Reviews of State Pension age not yet in law are not modelled.
    """

    def formula(person, period, parameters):
        p = parameters("2014-05-14").state_pension.ages  # the law as it stands since the 2014 Act
        born = np.asarray(person("date_of_birth", period), dtype="datetime64[D]")
        woman = np.asarray(person("female", period), dtype=bool)
        year, month, day = parts(born)

        def before(d):
            return born < np.datetime64(d)

        months_after_1960 = (year - 1960) * 12 + (month - 4) - (day < 6)  # whole months born after 5 April 1960
        stepped = anniversary(born, int(p.sixty_six), np.clip(months_after_1960 + 1, 1, 11))
        return np.select(
            [woman & before("1950-04-06"),
             woman & before("1953-04-06"),
             woman & before("1953-12-06"),
             before("1953-12-06"),
             before("1954-10-06"),
             before("1960-04-06"),
             before("1961-03-06"),
             before("1977-04-06"),
             before("1978-04-06")],
            [anniversary(born, int(p.women_born_before_1950_04_06)),
             _table(born, "1950-04", "2010-05-06", 2),
             _table(born, "1953-04", "2016-07-06", 4),
             anniversary(born, int(p.men_born_before_1953_12_06)),
             _table(born, "1953-12", "2019-03-06", 2),
             anniversary(born, int(p.sixty_six)),
             stepped,
             anniversary(born, int(p.sixty_seven)),
             _table(born, "1977-04", "2044-05-06", 2)],
            anniversary(born, int(p.sixty_eight)))
