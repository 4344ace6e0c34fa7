"""Date arithmetic over arrays (numpy datetime64), as the law counts it.

A date that does not exist in the target month (a 29 February birthday in a common year,
31 March plus one month) falls on the first day of the next month: the usual legal
reading in the UK, where someone born on 29 February comes of age on 1 March.
"""

import numpy as np


def parts(d):
    d = np.asarray(d, dtype="datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(int) + 1970
    month = months.astype(int) % 12 + 1
    day = (d - months).astype(int) + 1
    return year, month, day


def anniversary(d, years=0, months=0):
    """The date ``years`` and ``months`` after ``d`` (each a number or an array, one per date)."""
    year, month, day = parts(d)
    offset = (np.asarray(years, dtype=int) * 12 + np.asarray(months, dtype=int)).astype("timedelta64[M]")
    target = np.asarray(d, dtype="datetime64[D]").astype("datetime64[M]") + offset
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(int)
    first = target.astype("datetime64[D]")
    return np.where(day <= length, first + (day - 1), first + length)


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
