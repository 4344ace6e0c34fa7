"""Money: awards, their periods and the schedule of payments, derived from decisions (pure).

An **award** is what a ``grant`` of a paying service sets up: the service, the person and
the payee, the frequency the service declares, the start day and the end day the law sets
(New Style JSA: 182 days, Jobseekers Act 1995 s.5(1)). Its **periods** are the stretches
of days paid at one rate: a new period starts on each day a published rate changes
(uprating day, the first Monday of the tax year by the rates' own dates) and on the
birthday that crosses an age band (JSA's 25, Jobseeker's Allowance Regulations 1996
reg. 79). Periods are derived from the dated rate tables, never typed in.

The **schedule** is each payment's period, amount (pence, int) and due day, moved to the
previous working day when the due day is a weekend day or a bank holiday. A schedule
covers only days whose rate is published and whose bank holidays are known: the rest is
the award's *horizon* (see :func:`schedule`), listed by ``civic payments check``.

Amounts: a weekly rate is paid by the day, ``weekly x days / 7`` rounded half up to the
penny per rate period, so a full fortnight at one rate is exactly twice the weekly rate.
No averaging of any kind: every amount comes from one rate and a count of days.

Everything here is pure: rates, the calendar and the day of birth are inputs.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta


class PaymentsError(ValueError):
    """Base of the named money errors."""


class RateNotPublishedError(PaymentsError):
    """No published rate covers a day asked about: wait for the new rates, never guess."""


class CalendarUnknownError(PaymentsError):
    """A due day lies past the last bank holiday the calendar knows: it cannot be moved safely."""


class Frequency(str, enum.Enum):
    """How a service pays, as its catalogue entry (``services.yaml``, ``pays.frequency``) declares."""

    FORTNIGHTLY_ARREARS = "fortnightly-in-arrears"   # New Style JSA
    FOUR_WEEKLY_ARREARS = "four-weekly-in-arrears"   # Child Benefit
    LUMP_SUM_THEN_MONTHLY = "lump-sum-then-monthly"  # Bereavement Support Payment


PERIOD_DAYS = {Frequency.FORTNIGHTLY_ARREARS: 14, Frequency.FOUR_WEEKLY_ARREARS: 28}


@dataclass(frozen=True)
class Rate:
    """One dated figure: ``pence`` per ``per`` ("week" | "month" | "lump") from ``valid_from``, with its source."""

    valid_from: date
    pence: int
    source: str  # the GOV.UK page (URL) the figure is published on
    per: str = "week"


@dataclass(frozen=True)
class RateTable:
    """The dated figures of one rate, and the last day they are published for (inclusive)."""

    rates: tuple[Rate, ...]
    published_until: date

    def at(self, day: date) -> Rate:
        """The rate in force on ``day``. Raises RateNotPublishedError past ``published_until`` or before the first."""
        if day > self.published_until:
            raise RateNotPublishedError(f"no published rate for {day}: figures are published to {self.published_until}")
        found = None
        for r in sorted(self.rates, key=lambda r: r.valid_from):
            if r.valid_from <= day:
                found = r
        if found is None:
            raise RateNotPublishedError(f"no rate in force on {day}")
        return found

    def changes(self, start: date, end: date) -> list[date]:
        """Days in (start, end] on which a new figure takes effect."""
        return sorted(r.valid_from for r in self.rates if start < r.valid_from <= end)


@dataclass(frozen=True)
class AgeBands:
    """Rate tables by the lowest age they apply from (JSA: {0: under 25, 25: 25 or over})."""

    tables: Mapping[int, RateTable]

    def band(self, age: int) -> int:
        return max(b for b in self.tables if b <= age)

    def published_until(self) -> date:
        return min(t.published_until for t in self.tables.values())


def age_on(born: date, day: date) -> int:
    """Whole years of age on ``day``; someone born on 29 February turns a year older on 1 March."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birthday(born: date, age: int) -> date:
    """The day a person born on ``born`` reaches ``age`` (29 February: 1 March in common years)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return date(born.year + age, 3, 1)


@dataclass(frozen=True)
class AwardPeriod:
    """Days ``start``..``end`` (inclusive) paid at ``rate`` (pence per ``rate.per``) from its ``source``."""

    start: date
    end: date
    rate: Rate
    band: int = 0

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Award:
    """An award of a paying service; ``end`` is inclusive (None: no end the law sets)."""

    id: str
    service: str
    person: str
    payee: str
    frequency: Frequency
    start: date
    end: date | None
    periods: tuple[AwardPeriod, ...] = ()
    lump_sum: Rate | None = None  # Bereavement Support Payment's first payment
    payments_max: int | None = None  # BSP: 18 monthly payments

    def period_on(self, day: date) -> AwardPeriod | None:
        return next((p for p in self.periods if p.start <= day <= p.end), None)


def jsa_end(start: date, max_days: int = 182) -> date:
    """The last day New Style JSA is paid for: ``max_days`` days from ``start`` inclusive (s.5(1), 182 days)."""
    return start + timedelta(days=max_days - 1)


def award_periods(start: date, end: date | None, bands: AgeBands, born: date | None = None) -> tuple[AwardPeriod, ...]:
    """The award's rate periods from ``start``, as far as the rates are published (and to ``end``).

    A period starts on ``start``, on each day a published figure changes, and on each birthday that
    crosses into a new band. Raises RateNotPublishedError if no rate is published for ``start``."""
    last = min(end, bands.published_until()) if end else bands.published_until()
    if last < start:
        raise RateNotPublishedError(f"no published rate for {start}: figures are published to {last}")
    cuts = set()
    for t in bands.tables.values():
        cuts.update(t.changes(start, last))
    if born is not None:
        for b in bands.tables:
            day = birthday(born, b)
            if start < day <= last:
                cuts.add(day)
    edges = [start, *sorted(cuts)]
    out = []
    for i, s in enumerate(edges):
        e = edges[i + 1] - timedelta(days=1) if i + 1 < len(edges) else last
        band = bands.band(age_on(born, s)) if born is not None else min(bands.tables)
        out.append(AwardPeriod(s, e, bands.tables[band].at(s), band))
    merged: list[AwardPeriod] = []  # a table change in another band is not a change for this person
    for p in out:
        if merged and merged[-1].rate == p.rate and merged[-1].band == p.band:
            merged[-1] = AwardPeriod(merged[-1].start, p.end, p.rate, p.band)
        else:
            merged.append(p)
    return tuple(merged)


@dataclass(frozen=True)
class Calendar:
    """Working days: weekends and the bank holidays known up to ``known_until`` (inclusive)."""

    holidays: frozenset[date]
    known_until: date
    source: str = ""

    def working(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def previous_working_day(self, day: date) -> date:
        """``day`` if it is a working day, else the working day before it.
        Raises CalendarUnknownError past ``known_until``."""
        if day > self.known_until:
            raise CalendarUnknownError(f"bank holidays after {self.known_until} are not known ({self.source})")
        while not self.working(day):
            day -= timedelta(days=1)
        return day


@dataclass(frozen=True)
class Payment:
    """One payment: for days ``start``..``end`` (inclusive; equal for a lump sum), ``amount`` pence,
    ``due`` the day the law's pattern gives, ``pay_on`` the working day it is paid."""

    award: str
    start: date
    end: date
    amount: int
    due: date
    pay_on: date
    sources: tuple[str, ...] = ()
    kind: str = "regular"  # regular | lump-sum | arrears

    @property
    def key(self) -> tuple[str, str]:
        """What a payment is idempotent on: (award, period)."""
        return (self.award, f"{self.start.isoformat()}/{self.end.isoformat()}")


@dataclass(frozen=True)
class Schedule:
    """The payments derivable now, and why it stops where it does.

    ``horizon`` is the last day covered; ``stops`` is "end" (the award ends), "rates" (later figures
    not published) or "calendar" (bank holidays not known that far)."""

    payments: tuple[Payment, ...]
    horizon: date | None
    stops: str
    unpaid_from: date | None = None  # the first day of the award not yet scheduled (None: all scheduled)

    @property
    def complete(self) -> bool:
        return self.stops == "end"


def end_to_end_id(award: str, period: str, kind: str) -> str:
    """A stable id of at most 35 characters for (award, period, kind): the same payment, the same id,
    in the payment file and in the bank's report."""
    return "CM" + hashlib.sha256(f"{award}|{period}|{kind}".encode()).hexdigest()[:33]


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def amount_for(periods: Sequence[AwardPeriod], start: date, end: date) -> tuple[int, tuple[str, ...]]:
    """Pence for days ``start``..``end`` at the weekly rates of ``periods`` (weekly x days / 7, per period),
    and the sources used. Raises RateNotPublishedError when a day has no period."""
    total, sources, day = 0, [], start
    while day <= end:
        p = next((p for p in periods if p.start <= day <= p.end), None)
        if p is None:
            raise RateNotPublishedError(f"no rate period covers {day}")
        upto = min(end, p.end)
        days = (upto - day).days + 1
        total += _round_half_up(p.rate.pence * days, 7)
        if p.rate.source not in sources:
            sources.append(p.rate.source)
        day = upto + timedelta(days=1)
    return total, tuple(sources)


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def schedule(award: Award, calendar: Calendar) -> Schedule:
    """The payments of ``award``: as far as its periods (published rates) and the calendar reach.

    Weekly-rate services are paid for whole pay periods (14 or 28 days from the start, the last cut at
    the award's end), due the day after the period ends (in arrears). A pay period any day of which has
    no published rate is not scheduled; nor is a payment due after the calendar's last known day."""
    if award.frequency is Frequency.LUMP_SUM_THEN_MONTHLY:
        return _monthly(award, calendar)
    length = PERIOD_DAYS[award.frequency]
    covered = award.periods[-1].end if award.periods else award.start - timedelta(days=1)
    out: list[Payment] = []
    s = award.start
    stops = "end"
    while award.end is None or s <= award.end:
        e = s + timedelta(days=length - 1)
        if award.end is not None:
            e = min(e, award.end)
        if e > covered:
            stops = "rates"
            break
        due = e + timedelta(days=1)
        if due > calendar.known_until:
            stops = "calendar"
            break
        amount, sources = amount_for(award.periods, s, e)
        out.append(Payment(award.id, s, e, amount, due, calendar.previous_working_day(due),
                           sources + ((calendar.source,) if calendar.source else ())))
        s = e + timedelta(days=1)
    done = stops == "end"
    horizon = out[-1].end if out else None
    return Schedule(tuple(out), horizon, stops, None if done else s)


def _monthly(award: Award, calendar: Calendar) -> Schedule:
    out: list[Payment] = []
    if award.lump_sum is not None:
        due = award.start
        if due > calendar.known_until:
            return Schedule((), None, "calendar", award.start)
        out.append(Payment(award.id, award.start, award.start, award.lump_sum.pence, due,
                           calendar.previous_working_day(due), (award.lump_sum.source,), "lump-sum"))
    count = award.payments_max or 0
    for n in range(1, count + 1):
        s = _add_months(award.start, n - 1)
        e = _add_months(award.start, n) - timedelta(days=1)
        p = award.period_on(s)
        if p is None:
            return Schedule(tuple(out), out[-1].end if out else None, "rates", s)
        due = e + timedelta(days=1)
        if due > calendar.known_until:
            return Schedule(tuple(out), out[-1].end if out else None, "calendar", s)
        out.append(Payment(award.id, s, e, p.rate.pence, due, calendar.previous_working_day(due),
                           (p.rate.source,)))
    return Schedule(tuple(out), out[-1].end if out else None, "end")


def due_on(payments: Iterable[Payment], day: date) -> list[Payment]:
    """The payments a run on ``day`` pays: those whose working day is ``day`` or earlier."""
    return [p for p in payments if p.pay_on <= day]


@dataclass(frozen=True)
class Overpayment:
    """A payment made at a rate a later fact shows was too high, with the calculation shown."""

    award: str
    start: date
    end: date
    paid: int
    due: int
    lines: tuple[str, ...] = field(default=())

    @property
    def amount(self) -> int:
        return self.paid - self.due


def overpayments(paid: Sequence[Payment], corrected: Sequence[AwardPeriod]) -> list[Overpayment]:
    """For each payment made, what it should have been at the ``corrected`` rates; those paid too much.

    Day by day against the rate that applied: no averaging. Never a debt by itself: an officer decides."""
    out = []
    for p in paid:
        if p.kind == "lump-sum":
            continue
        should, _ = amount_for(corrected, p.start, p.end)
        if should < p.amount:
            lines = (f"Paid {pounds(p.amount)} for {p.start.isoformat()} to {p.end.isoformat()}",
                     *(f"Should have been {pounds(_round_half_up(c.rate.pence * _overlap(c, p), 7))} for "
                       f"{_overlap(c, p)} days at {pounds(c.rate.pence)} a week ({c.rate.source})"
                       for c in corrected if _overlap(c, p)),
                     f"Difference {pounds(p.amount - should)}")
            out.append(Overpayment(p.award, p.start, p.end, p.amount, should, lines))
    return out


def _overlap(period: AwardPeriod, payment: Payment) -> int:
    s, e = max(period.start, payment.start), min(period.end, payment.end)
    return max(0, (e - s).days + 1)


def pounds(pence: int) -> str:
    """£12.34 from 1234 (pence, int)."""
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) // 100:,}.{abs(pence) % 100:02d}"
