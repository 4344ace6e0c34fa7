"""Payments, the engine side: rate tables from the rules, awards from grants, the payment run.

Rates come from the pack's OpenFisca parameters (``jsa_new_style.rate_under_25`` ...), each figure
with the GOV.UK page it cites and the day its figures are published to (``published_until``); a
service's catalogue entry (``services.yaml``, ``pays``) names the parameters, the frequency and the
longest duration. Nothing here reads the wall clock: days come from the caller's clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..domain.payments import AgeBands, Award, Frequency, Rate, RateTable, award_periods, jsa_end


def rate_table(tbs, name: str, published_until: dict[str, date]) -> RateTable:
    """The dated figures of parameter ``name`` (pounds, converted to pence) with their GOV.UK sources.

    Raises KeyError for an unknown parameter, ValueError when it declares no ``published_until``."""
    node = tbs.parameters
    for part in name.split("."):
        node = node.children[part] if hasattr(node, "children") else getattr(node, part)
    if name not in published_until:
        raise ValueError(f"parameter {name} declares no published_until: its figures cannot be scheduled")
    rates = []
    for v in node.values_list:
        if v.value is None:
            continue
        refs = v.metadata.get("reference") or node.metadata.get("reference") or []
        href = next((r["href"] for r in refs if isinstance(r, dict) and r.get("href")), "")
        rates.append(Rate(date.fromisoformat(v.instant_str), int(Decimal(str(v.value)) * 100), href))
    return RateTable(tuple(sorted(rates, key=lambda r: r.valid_from)), published_until[name])


def bands_for(rules, pays: dict[str, Any]) -> AgeBands:
    """The age-banded rate tables a service's ``pays`` entry names."""
    return AgeBands({int(age): rate_table(rules.tbs, name, rules.published_until)
                     for age, name in pays["rates"].items()})


def max_days(rules, pays: dict[str, Any], on: date) -> int | None:
    name = pays.get("max_days")
    if not name:
        return None
    node = rules.tbs.parameters
    for part in name.split("."):
        node = getattr(node, part)
    return int(node(on.isoformat()))


def build_award(rules, service_id: str, pays: dict[str, Any], award_id: str, person: str, start: date,
                born: date | None, payee: str | None = None) -> Award:
    """An award of ``service_id`` from ``start``: its end (the law's longest duration), its rate periods as
    far as rates are published. Raises RateNotPublishedError when no rate is published for ``start``."""
    bands = bands_for(rules, pays)
    days = max_days(rules, pays, start)
    end = jsa_end(start, days) if days else None
    return Award(award_id, service_id, person, payee or person, Frequency(pays["frequency"]), start, end,
                 award_periods(start, end, bands, born))


def next_day(day: date) -> date:
    return day + timedelta(days=1)
