"""UK bank holidays for the payment schedule, from the ``govuk-bank-holidays`` package's bundled copy.

The package ships GOV.UK's ``bank-holidays.json`` (https://www.gov.uk/bank-holidays.json); it is read
with ``use_cached_holidays=True``, so nothing is fetched at run time. Bacs does not process on bank
holidays in England and Wales, so that division is used. The data ends with the last year it lists
(0.19: 2028); :attr:`Calendar.known_until` is that year's 31 December, and a payment due later is not
scheduled (``civic payments check`` lists the awards concerned) until a newer package is installed.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from ..domain.payments import Calendar

SOURCE = "https://www.gov.uk/bank-holidays (England and Wales, as bundled in govuk-bank-holidays)"


@lru_cache(maxsize=1)
def calendar() -> Calendar:
    """The England and Wales bank holidays the installed package bundles, and where they end."""
    from govuk_bank_holidays.bank_holidays import BankHolidays

    days = BankHolidays(use_cached_holidays=True).get_holidays(division=BankHolidays.ENGLAND_AND_WALES)
    dates = frozenset(d["date"] for d in days)
    return Calendar(dates, date(max(dates).year, 12, 31), SOURCE)
