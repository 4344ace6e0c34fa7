"""Date arithmetic over arrays (numpy datetime64), as the law counts it.

A date that does not exist in the target month (a 29 February birthday in a common year,
31 March plus one month) falls on the first day of the next month: the usual legal
reading in the UK, where someone born on 29 February comes of age on 1 March.

Calendar fields are found with integer arithmetic on days since 1970-01-01 (the proleptic
Gregorian calendar, as numpy's datetime64 counts it; H. Hinnant, "chrono-Compatible Low-Level
Date Algorithms"), which is many times faster than numpy's conversions between date units.
"""

import numpy as np

_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _days(d):
    """Days since 1970-01-01, as int64."""
    return np.asarray(d, dtype="datetime64[D]").astype(np.int64)


def _civil(days):
    """(year, month, day) of each count of days since 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097  # day of the 400-year era, 0 to 146096
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # day of the year that starts on 1 March
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def _first_of_month(year, month):
    """Days since 1970-01-01 of the first of each (year, month)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def parts(d):
    """The year, month (1 to 12) and day of the month of each date, as int64 arrays."""
    return _civil(_days(d))


def anniversary(d, years=0, months=0):
    """The date ``years`` and ``months`` after ``d`` (each a number or an array, one per date)."""
    year, month, day = parts(d)
    index = year * 12 + (month - 1) + np.asarray(years, dtype=np.int64) * 12 + np.asarray(months, dtype=np.int64)
    ty, tm = index // 12, index % 12 + 1
    leap = (ty % 4 == 0) & ((ty % 100 != 0) | (ty % 400 == 0))
    length = _MONTH_DAYS[tm - 1] + ((tm == 2) & leap)
    first = _first_of_month(ty, tm)
    return (first + np.minimum(day - 1, length)).astype("datetime64[D]")


def age_on(birth, on):
    """Whole years of age on the date ``on`` (birthdays counted as above)."""
    by, bm, bd = parts(birth)
    oy, om, od = parts(on)
    years = oy - by
    before = (om < bm) | ((om == bm) & (od < bd))
    # A 29 February birthday in a common year is reached on 1 March.
    return years - before.astype(int)



def after_birth(person, period, years=0, months=0, days=0):
    """The date a fixed time after each person's birth."""
    return anniversary(person("date_of_birth", period), years, months) + np.timedelta64(days, "D")
