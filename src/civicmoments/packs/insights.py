"""packs/<pack>/insights.yaml: unit costs, equity thresholds and, per moment, its service."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..domain.insights import CHANNELS, Thresholds, UnitCosts
from .yamlmap import load


@dataclass(frozen=True)
class MomentInsight:
    service: str | None = None  # the service whose take-up the moment is judged by
    zero_touch_steps: tuple[str, ...] = ()  # grant steps that award with no application


@dataclass(frozen=True)
class InsightSettings:
    costs: UnitCosts = field(default_factory=UnitCosts)
    thresholds: Thresholds = field(default_factory=Thresholds)
    moments: dict[str, MomentInsight] = field(default_factory=dict)
    costs_source: str | None = None
    costs_valid: str | None = None


def load_insights(file: Path) -> InsightSettings:
    """Read the file (a missing file means no costs and the default thresholds); a wrong value
    raises PackError naming its line."""
    if not file.exists():
        return InsightSettings()
    doc = load(file)
    d = doc.data or {}
    if not isinstance(d, dict):
        raise doc.error((), "insights.yaml is a mapping")
    c = d.get("unit_costs") or {}

    def pence(path: tuple, value) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise doc.error(path, "a cost is a whole number of pence, 0 or more")
        return value

    for name in c.get("channel") or {}:
        if name not in CHANNELS:
            raise doc.error(("unit_costs", "channel", name),
                            f"{name!r} is not a channel messages go by; choose from {', '.join(CHANNELS)}")
    costs = UnitCosts(
        channel={k: pence(("unit_costs", "channel", k), v) for k, v in (c.get("channel") or {}).items()},
        case_hour=pence(("unit_costs", "case_hour"), c.get("case_hour", 0)),
        partner_call=pence(("unit_costs", "partner_call"), c.get("partner_call", 0)),
        minutes_per_case_action=pence(("unit_costs", "minutes_per_case_action"), c.get("minutes_per_case_action", 0)),
    )
    t = d.get("thresholds") or {}
    for key in ("rate_points", "time_ratio"):
        if key in t and not (isinstance(t[key], int | float) and 0 < t[key] < 10):
            raise doc.error(("thresholds", key), f"'{key}' is a positive number such as 0.1")
    thresholds = Thresholds(**{k: float(t[k]) for k in ("rate_points", "time_ratio") if k in t})
    moments = {}
    for mid, spec in (d.get("moments") or {}).items():
        spec = spec or {}
        moments[mid] = MomentInsight(spec.get("service"), tuple(spec.get("zero_touch_steps") or ()))
    return InsightSettings(costs, thresholds, moments, c.get("source"), c.get("valid"))
