"""The insights view, for the policy and performance roles: a value-framework summary per moment
(impact, experience, efficiency, trust, take-up), one page per area with a chart, the data table
beneath it and the same in words, filters (version, period, group), a comparison of two versions
and a CSV export. Aggregates only: a cell of fewer than 10 people reads "fewer than 10".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from ...api.insights import day
from ...domain import insights as m
from ...engine import insights as engine
from ...engine.errors import InvalidPeriodError
from .. import charts
from . import Console

AREAS = {"impact": "Impact", "experience": "Experience", "efficiency": "Efficiency", "trust": "Trust",
         "take_up": "Take-up"}
GROUP_NAMES = {"online": "Online or not", "age_band": "Age band", "region": "Region", "language": "Language"}
# What each area's chart shows: (measure, what it reads as, unit)
HEADLINE = {
    "impact": ("reached_rate", "Share who reached the objective", "share of journeys"),
    "experience": ("first_notice_days_median", "Median days from the life event to the first notice", "days"),
    "efficiency": ("cost_per_journey_pence", "Cost to serve per journey", "pence"),
    "trust": ("consents_given", "People who gave consent", "people"),
    "take_up": ("take_up_rate", "Share of eligible people receiving the service", "share of eligible people"),
}
NAMES = {
    "journeys": "Journeys started", "reached": "Objective reached", "reached_rate": "Share reaching the objective",
    "reached_within_rate": "Share reaching it within the moment's time", "outcome_days_median": "Days to outcome (median)",
    "outcome_days_p90": "Days to outcome (90th percentile)", "back_in_work_30d_rate": "Back in work within 30 days",
    "back_in_work_90d_rate": "Back in work within 90 days", "back_in_work_180d_rate": "Back in work within 180 days",
    "first_notice_days_median": "Days to first notice (median)", "first_notice_days_p95": "Days to first notice (95th percentile)",
    "questions_per_person": "Questions asked per person", "once_only_rate": "Questions not asked because already known",
    "contacts_per_person": "Messages per person", "first_channel_rate": "Messages delivered at the first channel",
    "corrections": "People asking for a correction", "reconsiderations": "People asking for a reconsideration",
    "zero_touch_rate": "Awards with no application and no officer", "cases_per_100": "Cases per 100 journeys",
    "officer_hours": "Officer hours", "cost_pence": "Cost to serve (pence)", "cost_per_journey_pence": "Cost per journey (pence)",
    "cost_per_outcome_pence": "Cost per outcome (pence)", "consents_given": "People giving consent",
    "consents_refused": "People refusing consent", "consents_withdrawn": "People withdrawing consent",
    "objected": "People objecting", "gate_refusals": "People with a disclosure refused by the gate",
    "viewed_access": "People who opened Who saw my data", "reviews": "Adverse decisions reviewed",
    "overturned_rate": "Share overturned on review", "eligible": "People eligible", "receiving": "People receiving it",
    "take_up_rate": "Take-up",
}


def label(name: str) -> str:
    return NAMES.get(name, name.replace("_", " ").capitalize())


def router(console: Console) -> APIRouter:
    r = APIRouter(prefix="/staff/insights", include_in_schema=False)
    civic = console.civic

    def permitted(request: Request):
        officer = console.signed_in(request)
        if not civic.pack.policy.sees_insights(officer):
            return officer, console.page(request, "error.html", status=403, title="You cannot see insights",
                                         message="Insights are for the policy and performance roles.")
        return officer, None

    def filters(request: Request) -> dict[str, str]:
        q = request.query_params
        return {k: q.get(k, "").strip() for k in ("version", "start", "end", "group")}

    def build(moment: str, f: dict[str, str]) -> dict[str, Any]:
        return civic.insights.report(moment, f["version"] or None, day(f["start"], "from"), day(f["end"], "to"),
                                     f["group"] or None)

    def problem(request: Request, moment: str, exc: Exception, f: dict[str, str], area: str) -> Response:
        """A filter that cannot be met: the page again, with a GOV.UK error summary."""
        field = {"UnknownVersionError": "version", "UnknownGroupError": "group"}.get(type(exc).__name__, "start")
        text = exc.detail if isinstance(exc, InvalidPeriodError) else str(exc)
        return area_page(request, moment, area, f, None, errors=[{"text": text, "href": f"#{field}"}], status=422)

    @r.get("")
    def summary(request: Request) -> Response:
        officer, refused = permitted(request)
        if refused:
            return refused
        moments = []
        for mid, moment in sorted(civic.pack.moments.items()):
            report = civic.insights.report(mid)
            cells = []
            for area, title in AREAS.items():
                name, what, _ = HEADLINE[area]
                value = (report["measures"] or {}).get(area, {}).get(name)
                cells.append({"area": area, "title": title, "what": what, "value": m.shown(value)})
            moments.append({"id": mid, "title": moment.title, "journeys": m.shown(report["journeys"]),
                            "empty": report["empty"], "versions": report["versions"], "cells": cells})
        return console.page(request, "insights.html", title="Insights", moments=moments)

    def area_page(request: Request, moment: str, area: str, f: dict[str, str], report, errors=None,
                  status: int = 200) -> Response:
        mo = civic.pack.moments[moment]
        name, what, unit = HEADLINE[area]
        columns, rows, bars, hidden = [], [], [], []
        if report and report["measures"]:
            columns = [("all", "Everyone")]
            cells = {"all": report["measures"][area]}
            if report["groups"]:
                for g, cell in report["groups"].items():
                    columns.append((g, g))
                    cells[g] = cell["measures"][area] if cell["measures"] else None
                    if cell["measures"] is None:
                        hidden.append(f"{g} ({cell['reason']})")
            for measure in report["measures"][area]:
                rows.append({"name": label(measure),
                             "values": [m.shown(cells[c][measure]) if cells[c] else m.SUPPRESSED_REASON
                                        for c, _ in columns]})
            for c, title in columns:
                value = cells[c][name] if cells[c] else None
                if isinstance(value, int | float) and not isinstance(value, bool):
                    bars.append((title, value))
                elif c != "all" or not report["groups"]:
                    hidden.append(f"{title}: {m.shown(value)}")
        svg = charts.bar_svg(what, unit, bars)
        words = "; ".join(f"{t}: {v:g}" for t, v in bars)
        flags = [f"{g}: {flag}" for g, cell in ((report or {}).get("groups") or {}).items() for flag in cell["flags"]]
        query = "&".join(f"{k}={v}" for k, v in f.items() if v)
        return console.page(
            request, "insights_area.html", status=status, errors=errors, title=f"{AREAS[area]}: {mo.title}",
            moment={"id": moment, "title": mo.title}, area=area, areas=AREAS, report=report, filters=f,
            groups=GROUP_NAMES, columns=columns, rows=rows, svg=svg, what=what, unit=unit, words=words,
            hidden=hidden, flags=flags, query=query,
            versions=sorted(civic.insights.versions(moment)))

    @r.get("/{moment}/export.csv")
    def export(request: Request, moment: str) -> Response:
        officer, refused = permitted(request)
        if refused:
            return refused
        if moment not in civic.pack.moments:
            return console.page(request, "error.html", status=404, title="Not found", message=f"No moment {moment!r}.")
        f = filters(request)
        try:
            report = build(moment, f)
        except (engine.UnknownVersionError, engine.UnknownGroupError, InvalidPeriodError) as exc:
            return problem(request, moment, exc, f, "impact")
        return PlainTextResponse(engine.report_csv(report), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": f'attachment; filename="{moment}-insights.csv"'})

    @r.get("/{moment}/compare")
    def compare(request: Request, moment: str) -> Response:
        officer, refused = permitted(request)
        if refused:
            return refused
        if moment not in civic.pack.moments:
            return console.page(request, "error.html", status=404, title="Not found", message=f"No moment {moment!r}.")
        civic.insights.refresh()
        versions = sorted(civic.insights.versions(moment))
        before = request.query_params.get("before") or (versions[0] if versions else "")
        after = request.query_params.get("after") or (versions[-1] if versions else "")
        found, errors = None, None
        if before and after:
            try:
                found = civic.insights.compare(moment, before, after)
            except engine.UnknownVersionError as exc:
                errors = [{"text": str(exc), "href": "#before"}]
        rows = []
        for area, values in ((found or {}).get("measures") or {}).items():
            for name, v in values.items():
                rows.append({"area": AREAS[area], "name": label(name), "from": m.shown(v["from"]),
                             "to": m.shown(v["to"]), "change": "" if v["change"] is None else f"{v['change']:+g}"})
        return console.page(request, "insights_compare.html", status=422 if errors else 200, errors=errors,
                            title=f"Compare versions: {civic.pack.moments[moment].title}",
                            moment={"id": moment, "title": civic.pack.moments[moment].title}, versions=versions,
                            before=before, after=after, found=found, rows=rows,
                            journeys={k: m.shown(v) for k, v in ((found or {}).get("journeys") or {}).items()})

    @r.get("/{moment}/{area}")
    def area(request: Request, moment: str, area: str) -> Response:
        officer, refused = permitted(request)
        if refused:
            return refused
        if moment not in civic.pack.moments or area not in AREAS:
            return console.page(request, "error.html", status=404, title="Not found",
                                message=f"No insights page {moment}/{area}.")
        f = filters(request)
        try:
            report = build(moment, f)
        except (engine.UnknownVersionError, engine.UnknownGroupError, InvalidPeriodError) as exc:
            return problem(request, moment, exc, f, area)
        return area_page(request, moment, area, f, report)

    return r
