"""How values read to a person: dates, times, distances, money and job titles, in English or Welsh.

One module for every place a person reads a value: portal pages, messages and letters. It
follows the GOV.UK style guide (https://www.gov.uk/guidance/style-guide/a-to-z):

- dates as "14 March 2048" (Welsh "14 Mawrth 2048"), never ``2048-03-14``;
- times in UK local time (``Europe/London``: GMT in winter, BST in summer) as "9:30am",
  because times are stored in UTC and a summer time shown as UTC is an hour out;
- money in pounds with pence only when there are pence: "£31,492", "£90.15";
- distances rounded the way people say them: "less than a mile", "1 mile", "3 miles";
- job titles as an employer publishes them: a capital first letter ("Midwife").

Locales are the pack's language codes (``en``, ``cy``); month and day names come from
Babel's CLDR data. Every function takes the value and the locale and returns text; none
reads the clock.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

UK = ZoneInfo("Europe/London")
REGION = "GB"

# Distances in each language: under a mile, exactly one, more than one ({n} is a whole number).
_DISTANCE = {
    "en": ("less than a mile", "1 mile", "{n} miles"),
    "cy": ("llai na milltir", "1 filltir", "{n} milltir"),
}


def _babel(locale: str) -> str:
    return locale if "_" in locale else f"{locale}_{REGION}"


def _moment(value: datetime | str) -> datetime:
    """A datetime from a datetime or an ISO 8601 string; a naive one is taken as UTC (how times are stored)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def local(value: datetime | str, tz: str | ZoneInfo = UK) -> datetime:
    """The same instant in UK local time (or ``tz``): 2048-07-14T08:30Z is 09:30 BST."""
    return _moment(value).astimezone(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))


def day(value: date | datetime | str, locale: str = "en", tz: str | ZoneInfo = UK) -> str:
    """A date as "14 March 2048" ("14 Mawrth 2048" in Welsh).

    ``value`` is a date, a datetime (its UK local date: 23:30 UTC on 30 June is 1 July in
    BST) or an ISO 8601 string (a bare date is read as that date).
    """
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else _moment(value)
    if isinstance(value, datetime):
        value = local(value, tz).date()
    return format_date(value, "d MMMM y", locale=_babel(locale))


def clock_time(value: datetime | str, locale: str = "en", tz: str | ZoneInfo = UK) -> str:
    """A time of day in UK local time, as GOV.UK writes it: "9:30am", "2pm"."""
    moment = local(value, tz)
    pattern = "h:mma" if moment.minute else "ha"
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=_babel(locale)).lower().replace(" ", "")


def when(value: datetime | str, locale: str = "en", tz: str | ZoneInfo = UK) -> str:
    """A moment as "Tuesday 14 July 2048, 9:30am", in UK local time ("Dydd Mawrth 14 Gorffennaf 2048, 9:30yb")."""
    moment = local(value, tz)
    weekday = format_datetime(moment, "EEEE d MMMM y", tzinfo=moment.tzinfo, locale=_babel(locale))
    return f"{weekday}, {clock_time(moment, locale, tz)}"


def money(pence: int, locale: str = "en", currency: str = "GBP") -> str:
    """An amount in pence as pounds, with pence only when there are some: 3149200 -> "£31,492", 9015 -> "£90.15".

    Raises ``TypeError`` for a value that is not a whole number of pence.
    """
    if isinstance(pence, bool) or not isinstance(pence, int):
        raise TypeError(f"money takes whole pence (int), got {type(pence).__name__}")
    pattern = "¤#,##0" if pence % 100 == 0 else "¤#,##0.00"
    return format_currency(pence / 100, currency, format=pattern, locale=_babel(locale), currency_digits=False)


def pounds(amount: float | int | str, locale: str = "en", currency: str = "GBP") -> str:
    """An amount in pounds (as rules give them, e.g. 90.15) read as :func:`money`."""
    return money(round(float(amount) * 100), locale, currency)


def distance(miles: float | int | None, locale: str = "en") -> str:
    """A distance as people say it: under a mile is "less than a mile"; otherwise whole miles, rounded."""
    under, one, many = _DISTANCE.get(locale.split("_")[0], _DISTANCE["en"])
    if miles is None or float(miles) < 1:
        return under
    n = int(float(miles) + 0.5)  # half a mile rounds up, as people say it (not to even)
    return one if n == 1 else many.format(n=f"{n:,}")


def job_title(title: Any) -> str:
    """A job title as an employer publishes it: the first letter a capital, the rest as given
    ("midwife" -> "Midwife", "HGV driver" stays "HGV driver")."""
    text = " ".join(str(title or "").split())
    return text[:1].upper() + text[1:]


def filters(locale: str, tz: str | ZoneInfo = UK, currency: str = "GBP") -> dict[str, Any]:
    """Jinja filters bound to a locale, for pages, messages and letters:
    ``day``, ``time``, ``when``, ``money`` (pence), ``pounds``, ``miles`` and ``job_title``."""
    return {
        "day": lambda v: day(v, locale, tz),
        "time": lambda v: clock_time(v, locale, tz),
        "when": lambda v: when(v, locale, tz),
        "money": lambda v: money(int(v), locale, currency),
        "pounds": lambda v: pounds(v, locale, currency),
        "miles": lambda v: distance(v, locale),
        "job_title": job_title,
    }
