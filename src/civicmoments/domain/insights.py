"""Impact and insights, pure: what a moment achieved, for whom, at what cost, with disclosure control.

Each measure is defined once, in ``measures_of``, on a ``Tally``: one population of journeys
summed up (counts, sums, medians and nearest-rank percentiles). A tally comes either from the
analytical store (DuckDB reading the store's tables, ``adapters/store/analytics.py``: the fast path
over millions of journeys) or from ``tally`` over one ``JourneyFacts`` per journey (the reference:
plain arithmetic on rows that can be checked by hand, which the tests hold the SQL to, and the
path used when DuckDB is not installed). ``measures``, ``split`` and ``compare`` over rows are
that reference path end to end.

Disclosure control (the rule every figure obeys):

- *primary*: a cell of fewer than ``MIN_CELL`` (10) people is not shown; its value is the
  ``Suppressed`` marker, with the reason "fewer than 10";
- *secondary*: within a split of the same population (online / not online; each age band ...),
  a single suppressed cell could be recovered as the total less the others, so the next
  smallest cell is suppressed too; a count that sits next to its complement (reached / not
  reached) is suppressed when the complement is small, for the same reason.

Times are in days (float); rates are fractions 0..1; money is integer pence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

MIN_CELL = 10
SUPPRESSED_REASON = "fewer than 10"
GROUPS = ("online", "age_band", "region", "language")
AREAS = ("impact", "experience", "efficiency", "trust", "take_up")


@dataclass(frozen=True)
class Suppressed:
    """A value withheld by disclosure control."""

    reason: str = SUPPRESSED_REASON

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class UnitCosts:
    """What each unit of work costs, in pence, as the pack declares (packs/uk/insights.yaml)."""

    channel: dict[str, int] = field(default_factory=dict)  # per message delivered on a channel
    case_hour: int = 0
    partner_call: int = 0
    minutes_per_case_action: int = 0


@dataclass(frozen=True)
class Thresholds:
    """A group is flagged when its rate differs from the rest's by more than ``rate_points``
    (fraction, 0.10 = ten points) or its median time by more than ``time_ratio`` (0.25 = 25%)."""

    rate_points: float = 0.10
    time_ratio: float = 0.25


@dataclass(frozen=True)
class JourneyFacts:
    """One journey of a moment, as the measures need it (no personal data: groups are bands)."""

    version: str
    status: str
    reached: bool = False  # the objective reached and confirmed
    outcome_days: float | None = None  # from the start of the journey to the outcome
    first_notice_days: float | None = None  # from the life event to the first message
    questions: int = 0  # questions the moment asked the person
    known: int = 0  # questions not asked because a fact was already held
    contacts: int = 0  # messages sent to the person
    first_channel: int = 0  # messages delivered at the first channel tried
    corrections: int = 0
    reconsiderations: int = 0
    awarded: bool = False  # a service granted on the journey
    applied: bool = False  # the award waited on an answer from the person (an application of sorts)
    cases: int = 0
    case_actions: int = 0
    partner_calls: int = 0
    channels: tuple[tuple[str, int], ...] = ()  # messages delivered per channel
    consents: tuple[tuple[str, int], ...] = ()  # consent records per state (given, refused, withdrawn)
    objected: int = 0
    gate_refusals: int = 0
    viewed_access: bool = False
    reviews: int = 0  # adverse decisions reviewed
    overturned: int = 0
    eligible: bool = False  # eligible for the moment's service by the sweep
    online: str = "unknown"  # online | not-online | unknown
    age_band: str = "unknown"
    region: str = "unknown"
    language: str = "unknown"


# -- the projection's columns (adapters/store/facts.py keeps them as journeys move) ---------------

CHANNELS = ("inbox", "sms", "email", "letter", "assisted")  # domain.messages.Channel's values
FACT_COUNTS = ("reached", "questions", "known", "contacts", "first_channel", "messages",
               *(f"ch_{c}" for c in CHANNELS), "awarded", "applied", "cases", "case_actions", "partner_calls",
               "given", "refused", "withdrawn", "objected", "corrections", "reconsiderations", "gate_refusals",
               "viewed_access", "reviews", "overturned", "eligible")
CELL_SUMS = ("journeys", "reached", "outcome_n", "back_30", "back_90", "back_180", "first_notice_n", "asked",
             "known", "contacts", "messages", "first_channel", *(f"ch_{c}" for c in CHANNELS), "awarded",
             "zero_touch", "cases", "case_actions", "partner_calls", "consents_given", "consents_refused",
             "consents_withdrawn", "corrections", "reconsiderations", "objected", "gate_refusals", "viewed_access",
             "reviews", "overturned", "eligible", "eligible_awarded")


def fact_row(f: JourneyFacts) -> dict[str, Any]:
    """``f`` as the projection's columns: counts as integers, messages delivered per channel
    (``ch_<channel>``; "messages" counts every channel), consent records per state."""
    ch, consents = dict(f.channels), dict(f.consents)
    return {"version": f.version, "outcome_days": f.outcome_days if f.reached else None,
            "first_notice_days": f.first_notice_days, "reached": int(f.reached), "questions": f.questions,
            "known": f.known, "contacts": f.contacts, "first_channel": f.first_channel,
            "messages": sum(ch.values()), **{f"ch_{c}": ch.get(c, 0) for c in CHANNELS},
            "awarded": int(f.awarded), "applied": int(f.applied), "cases": f.cases, "case_actions": f.case_actions,
            "partner_calls": f.partner_calls, **{s: consents.get(s, 0) for s in ("given", "refused", "withdrawn")},
            "objected": f.objected, "corrections": f.corrections, "reconsiderations": f.reconsiderations,
            "gate_refusals": f.gate_refusals, "viewed_access": int(f.viewed_access), "reviews": f.reviews,
            "overturned": f.overturned, "eligible": int(f.eligible), "online": f.online, "age_band": f.age_band,
            "region": f.region, "language": f.language}


def contribution(row: dict[str, Any]) -> tuple[int, ...]:
    """What one journey's ``fact_row`` adds to each of ``CELL_SUMS``: the same counting as ``tally``."""
    o, fn = row["outcome_days"], row["first_notice_days"]
    awarded, eligible = bool(row["awarded"]), bool(row["eligible"])
    return (1, row["reached"], o is not None, o is not None and o <= 30, o is not None and o <= 90,
            o is not None and o <= 180, fn is not None, row["questions"], row["known"], row["contacts"],
            row["messages"], row["first_channel"], *(row[f"ch_{c}"] for c in CHANNELS), awarded,
            awarded and not row["applied"] and row["cases"] == 0, row["cases"], row["case_actions"],
            row["partner_calls"], row["given"] > 0, row["refused"] > 0, row["withdrawn"] > 0,
            row["corrections"] > 0, row["reconsiderations"] > 0, row["objected"] > 0, row["gate_refusals"] > 0,
            row["viewed_access"] > 0, row["reviews"], row["overturned"], eligible, eligible and awarded)


def tally_from(sums: dict[str, int], outcome_at: Callable[[int], float], outcome_upto: Callable[[float], int],
               notice_at: Callable[[int], float], within_days: float | None, costs: UnitCosts) -> Tally:
    """The ``Tally`` of a population from its ``CELL_SUMS`` and its sorted times, read by position
    (``outcome_at(i)``: the i-th smallest time to outcome, 0-based; ``outcome_upto(d)``: how many
    are <= d days): equal to ``tally`` over the same journeys."""
    def stats(n: int, at: Callable[[int], float], q: float) -> tuple[float | None, float | None]:
        if not n:
            return None, None
        lo, hi = middle(n)
        a = at(lo)
        return (a if lo == hi else (a + at(hi)) / 2), at(nearest_rank(n, q))

    outcome_median, outcome_p90 = stats(sums["outcome_n"], outcome_at, 90)
    notice_median, notice_p95 = stats(sums["first_notice_n"], notice_at, 95)
    counted = {k: int(v) for k, v in sums.items() if k in _TALLY_SUMS}
    return Tally(**counted, outcome_median=outcome_median, outcome_p90=outcome_p90,
                 outcome_within=outcome_upto(within_days) if within_days is not None and sums["outcome_n"] else 0,
                 first_notice_median=notice_median, first_notice_p95=notice_p95,
                 channel_pence=sum(costs.channel.get(c, 0) * int(sums[f"ch_{c}"]) for c in CHANNELS))


# -- arithmetic ---------------------------------------------------------------------------------

def nearest_rank(n: int, q: float) -> int:
    """The 0-based position of the q-th percentile (0..100) among ``n`` >= 1 sorted values, by the
    nearest-rank method."""
    return max(1, math.ceil(q / 100 * n)) - 1


def middle(n: int) -> tuple[int, int]:
    """The 0-based positions whose mean is the median of ``n`` >= 1 sorted values (equal when n is odd)."""
    return (n // 2, n // 2) if n % 2 else (n // 2 - 1, n // 2)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by the nearest-rank method, or None for no values."""
    if not values:
        return None
    return sorted(values)[nearest_rank(len(values), q)]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    lo, hi = middle(len(ordered))
    return ordered[lo] if lo == hi else (ordered[lo] + ordered[hi]) / 2


def age_band(age: int | None) -> str:
    """ONS-style bands: 16-24, 25-34, 35-49, 50-64, 65+."""
    if age is None:
        return "unknown"
    for top, band in ((24, "16-24"), (34, "25-34"), (49, "35-49"), (64, "50-64")):
        if age <= top:
            return band
    return "65+"


# -- disclosure control -------------------------------------------------------------------------

def small(n: int) -> bool:
    return 0 < n < MIN_CELL


def count_cell(n: int, total: int | None = None) -> int | Suppressed:
    """A count of people: shown unless it (or, beside a shown total, its complement) is 1 to 9."""
    if small(n) or (total is not None and small(total - n)):
        return Suppressed()
    return n


def rate_cell(part: int, whole: int) -> float | Suppressed | None:
    """A share of people: None with no one in the denominator; suppressed when the part, the rest
    or the whole is 1 to 9 people."""
    if whole == 0:
        return None
    if whole < MIN_CELL or small(part) or small(whole - part):
        return Suppressed()
    return round(part / whole, 4)


def stat_cell(values: Sequence[float], fn: Callable[[Sequence[float]], float | None]) -> float | Suppressed | None:
    """A statistic over people's values (median, percentile): suppressed under 10 people."""
    if not values:
        return None
    if len(values) < MIN_CELL:
        return Suppressed()
    v = fn(values)
    return None if v is None else round(v, 4)


def secondary_suppression(cells: dict[str, int]) -> set[str]:
    """The groups of a split to suppress so that no suppressed group can be recovered by
    subtraction from the total: every group of 1 to 9 people and, when that leaves exactly one
    suppressed, the next smallest group as well."""
    hidden = {g for g, n in cells.items() if small(n)}
    if len(hidden) == 1:
        rest = sorted((n, g) for g, n in cells.items() if g not in hidden and n > 0)
        if rest:
            hidden.add(rest[0][1])
    return hidden


# -- a population, summed --------------------------------------------------------------------------

@dataclass(frozen=True)
class Tally:
    """One population of journeys reduced to what its measures need: counts of journeys or people
    (int), sums over journeys (int; money in pence) and order statistics of times in days (float;
    None when there are no values). ``tally`` is the reference that makes one from ``JourneyFacts``;
    the analytical store (``adapters/store/analytics.py``) makes the same in SQL over the store's
    tables, and ``measures_of`` turns either into the measures, so each measure is defined once."""

    journeys: int = 0
    reached: int = 0
    outcome_n: int = 0  # reached journeys with a time to outcome
    outcome_median: float | None = None  # ``median`` of those times
    outcome_p90: float | None = None  # ``percentile(.., 90)``, nearest rank
    outcome_within: int = 0  # times <= the objective's window (0 without one)
    back_30: int = 0  # times <= 30, 90, 180 days
    back_90: int = 0
    back_180: int = 0
    first_notice_n: int = 0
    first_notice_median: float | None = None
    first_notice_p95: float | None = None
    asked: int = 0
    known: int = 0
    contacts: int = 0
    messages: int = 0  # messages delivered, over every channel
    first_channel: int = 0
    channel_pence: int = 0  # messages delivered x the channel's unit cost
    awarded: int = 0
    zero_touch: int = 0  # awarded with no answer waited on and no case
    cases: int = 0
    case_actions: int = 0
    partner_calls: int = 0
    consents_given: int = 0  # people with a consent record in that state
    consents_refused: int = 0
    consents_withdrawn: int = 0
    corrections: int = 0  # people who asked for one
    reconsiderations: int = 0
    objected: int = 0
    gate_refusals: int = 0
    viewed_access: int = 0
    reviews: int = 0
    overturned: int = 0
    eligible: int = 0
    eligible_awarded: int = 0


_TALLY_SUMS = frozenset(f.name for f in fields(Tally)) & frozenset(CELL_SUMS)


def tally(rows: Sequence[JourneyFacts], within_days: float | None, costs: UnitCosts) -> Tally:
    """The reference ``Tally`` of ``rows`` (``within_days``: the objective's window, or None)."""
    reached = [r for r in rows if r.reached]
    outcome = [r.outcome_days for r in reached if r.outcome_days is not None]
    first_notice = [r.first_notice_days for r in rows if r.first_notice_days is not None]
    awarded = [r for r in rows if r.awarded]
    eligible = [r for r in rows if r.eligible]

    def people(state: str) -> int:
        return sum(1 for r in rows if dict(r.consents).get(state))

    return Tally(
        journeys=len(rows), reached=len(reached),
        outcome_n=len(outcome), outcome_median=median(outcome), outcome_p90=percentile(outcome, 90),
        outcome_within=sum(1 for d in outcome if within_days is not None and d <= within_days),
        back_30=sum(1 for d in outcome if d <= 30), back_90=sum(1 for d in outcome if d <= 90),
        back_180=sum(1 for d in outcome if d <= 180),
        first_notice_n=len(first_notice), first_notice_median=median(first_notice),
        first_notice_p95=percentile(first_notice, 95),
        asked=sum(r.questions for r in rows), known=sum(r.known for r in rows),
        contacts=sum(r.contacts for r in rows), messages=sum(c for r in rows for _, c in r.channels),
        first_channel=sum(r.first_channel for r in rows),
        channel_pence=sum(costs.channel.get(ch, 0) * c for r in rows for ch, c in r.channels),
        awarded=len(awarded), zero_touch=sum(1 for r in awarded if not r.applied and r.cases == 0),
        cases=sum(r.cases for r in rows), case_actions=sum(r.case_actions for r in rows),
        partner_calls=sum(r.partner_calls for r in rows),
        consents_given=people("given"), consents_refused=people("refused"), consents_withdrawn=people("withdrawn"),
        corrections=sum(1 for r in rows if r.corrections), reconsiderations=sum(1 for r in rows if r.reconsiderations),
        objected=sum(1 for r in rows if r.objected), gate_refusals=sum(1 for r in rows if r.gate_refusals),
        viewed_access=sum(1 for r in rows if r.viewed_access),
        reviews=sum(r.reviews for r in rows), overturned=sum(r.overturned for r in rows),
        eligible=len(eligible), eligible_awarded=sum(1 for r in eligible if r.awarded),
    )


# -- the measures ------------------------------------------------------------------------------

def measures(rows: Sequence[JourneyFacts], within_days: float | None, costs: UnitCosts) -> dict[str, dict[str, Any]]:
    """Every measure over one population of journeys, by area; small cells suppressed.

    ``within_days`` is the moment's objective window (``objective.within``), or None. The
    reference path: ``measures_of(tally(rows, ...))``.
    """
    return measures_of(tally(rows, within_days, costs), within_days, costs)


def _stat(n: int, value: float | None) -> float | Suppressed | None:
    """A statistic over ``n`` people's values (as ``stat_cell``): suppressed under 10 people."""
    if not n:
        return None
    if n < MIN_CELL:
        return Suppressed()
    return None if value is None else round(value, 4)


def measures_of(t: Tally, within_days: float | None, costs: UnitCosts) -> dict[str, dict[str, Any]]:
    """Every measure of the population ``t`` sums up, by area; small cells suppressed:
    {area: {measure: number | None (no data) | Suppressed}}. The one definition of each measure."""
    n = t.journeys
    officer_minutes = t.case_actions * costs.minutes_per_case_action
    case_pence = round(officer_minutes / 60 * costs.case_hour)
    cost = t.channel_pence + case_pence + t.partner_calls * costs.partner_call
    consent = {"given": t.consents_given, "refused": t.consents_refused, "withdrawn": t.consents_withdrawn}

    def per_person(total: int):
        return Suppressed() if n < MIN_CELL else round(total / n, 2) if n else None

    within = rate_cell(t.outcome_within, n) if within_days is not None else None
    found = {
        "impact": {
            "journeys": count_cell(n),
            "reached": count_cell(t.reached, n),
            "reached_rate": rate_cell(t.reached, n),
            "reached_within_rate": within,
            "outcome_days_median": _stat(t.outcome_n, t.outcome_median),
            "outcome_days_p90": _stat(t.outcome_n, t.outcome_p90),
            **{f"back_in_work_{d}d_rate": rate_cell(getattr(t, f"back_{d}"), n) for d in (30, 90, 180)},
        },
        "experience": {
            "first_notice_days_median": _stat(t.first_notice_n, t.first_notice_median),
            "first_notice_days_p95": _stat(t.first_notice_n, t.first_notice_p95),
            "questions_per_person": per_person(t.asked),
            "once_only_rate": rate_cell(t.known, t.asked + t.known) if t.known else None,  # None: not recorded
            "contacts_per_person": per_person(t.contacts),
            "first_channel_rate": rate_cell(t.first_channel, t.messages) if t.messages else None,
            "corrections": count_cell(t.corrections),
            "reconsiderations": count_cell(t.reconsiderations),
        },
        "efficiency": {
            "zero_touch_rate": rate_cell(t.zero_touch, t.awarded) if t.awarded else None,
            "cases_per_100": Suppressed() if n < MIN_CELL else round(100 * t.cases / n, 1) if n else None,
            "officer_hours": Suppressed() if n < MIN_CELL else round(officer_minutes / 60, 1),
            "cost_pence": Suppressed() if n < MIN_CELL else cost,
            "cost_per_journey_pence": Suppressed() if n < MIN_CELL else round(cost / n) if n else None,
            "cost_per_outcome_pence": (Suppressed() if t.reached < MIN_CELL else round(cost / t.reached))
            if t.reached else None,
        },
        "trust": {
            **{f"consents_{s}": count_cell(people) for s, people in consent.items()},
            "objected": count_cell(t.objected),
            "gate_refusals": count_cell(t.gate_refusals),
            # opening "Who saw my data" is not recorded yet: no figure rather than a false zero
            "viewed_access": count_cell(t.viewed_access) if t.viewed_access else None,
            "reviews": count_cell(t.reviews),
            "overturned_rate": rate_cell(t.overturned, t.reviews) if t.reviews else None,
        },
        "take_up": {
            "eligible": count_cell(t.eligible),
            "receiving": count_cell(t.eligible_awarded, t.eligible),
            "take_up_rate": rate_cell(t.eligible_awarded, t.eligible) if t.eligible else None,
        },
    }
    if small(n):  # a population of fewer than 10: even a zero would tell something about each of them
        return {area: dict.fromkeys(values, Suppressed()) for area, values in found.items()}
    return found


def split(rows: Sequence[JourneyFacts], group: str, within_days: float | None, costs: UnitCosts,
          thresholds: Thresholds) -> dict[str, dict[str, Any]]:
    """Every measure per value of ``group`` (one of ``GROUPS``), with secondary suppression across
    the split and a flag on a group whose outcome or time differs from the rest by more than the
    thresholds. Returns {group value: {"people": n, "measures": ..., "flags": [...]}}.
    The reference path: ``split_of`` over the tallies of each group and of everyone else."""
    if group not in GROUPS:
        raise ValueError(f"{group!r} is not a group; choose one of {', '.join(GROUPS)}")
    by: dict[str, list[JourneyFacts]] = {}
    for r in rows:
        by.setdefault(getattr(r, group), []).append(r)
    members = {g: tally(v, within_days, costs) for g, v in by.items()}
    rest = {g: tally([r for r in rows if getattr(r, group) != g], within_days, costs) for g in by}
    return split_of(members, rest, within_days, costs, thresholds)


def split_of(members: dict[str, Tally], rest: dict[str, Tally], within_days: float | None, costs: UnitCosts,
             thresholds: Thresholds) -> dict[str, dict[str, Any]]:
    """``split``'s result from the tally of each group value (``members``) and of everyone not in
    it (``rest``; a value everyone shares has no rest and no entry)."""
    hidden = secondary_suppression({g: t.journeys for g, t in members.items()})
    out: dict[str, dict[str, Any]] = {}
    for g in sorted(members):
        t = members[g]
        if g in hidden:
            out[g] = {"people": Suppressed(), "measures": None, "flags": [],
                      "reason": SUPPRESSED_REASON if small(t.journeys) else
                      "hidden so that a smaller group cannot be worked out from the total"}
            continue
        out[g] = {"people": t.journeys, "measures": measures_of(t, within_days, costs),
                  "flags": flags_of(t, rest.get(g, Tally()), thresholds)}
    return out


def flags(members: Sequence[JourneyFacts], rest: Sequence[JourneyFacts], t: Thresholds) -> list[str]:
    """Why a group stands out from everyone else (only where both sides have 10 people or more)."""
    costs = UnitCosts()
    return flags_of(tally(members, None, costs), tally(rest, None, costs), t)


def flags_of(a: Tally, b: Tally, t: Thresholds) -> list[str]:
    """``flags`` from the tallies of the group (``a``) and of everyone else (``b``)."""
    if a.journeys < MIN_CELL or b.journeys < MIN_CELL:
        return []
    out = []
    ra, rb = a.reached / a.journeys, b.reached / b.journeys
    if abs(ra - rb) > t.rate_points:
        out.append(f"objective reached {ra:.0%} against {rb:.0%} for everyone else")
    if a.outcome_n >= MIN_CELL and b.outcome_n >= MIN_CELL:
        ma, mb = a.outcome_median, b.outcome_median
        if mb and abs(ma - mb) / mb > t.time_ratio:
            out.append(f"median time to outcome {ma:g} days against {mb:g} for everyone else")
    return out


def compare(before: Sequence[JourneyFacts], after: Sequence[JourneyFacts], within_days: float | None,
            costs: UnitCosts) -> dict[str, dict[str, dict[str, Any]]]:
    """Two versions side by side: {area: {measure: {"from", "to", "change"}}}; no change is worked
    out where either side is suppressed, so a difference never reveals a hidden cell."""
    return compare_of(measures(before, within_days, costs), measures(after, within_days, costs))


def compare_of(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """``compare``'s result from the two sides' measures."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for area in a:
        out[area] = {}
        for name, x in a[area].items():
            y = b[area][name]
            change = (round(y - x, 4) if isinstance(x, int | float) and isinstance(y, int | float)
                      and not isinstance(x, bool) else None)
            out[area][name] = {"from": x, "to": y, "change": change}
    return out


def plain(value: Any) -> Any:
    """A measure ready for JSON: suppressed cells become {"suppressed": reason}."""
    if isinstance(value, Suppressed):
        return {"suppressed": value.reason}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def shown(value: Any) -> str:
    """A measure for people: "fewer than 10" for a suppressed cell, "none" for no data."""
    if isinstance(value, Suppressed):
        return value.reason
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def rows_of(items: Iterable[dict[str, Any]]) -> list[JourneyFacts]:
    return [JourneyFacts(**i) for i in items]
