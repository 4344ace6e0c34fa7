"""GET /v1/insights/{moment}: a moment's measures for officers with the insights role
(policy, performance). Aggregates only; cells under 10 people are {"suppressed": "fewer than 10"}."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from ..domain.insights import plain
from ..domain.staff import Officer
from ..engine import insights as engine
from ..engine.errors import (
    InsightsNotPermittedError,
    InvalidPeriodError,
    UnknownGroupProblem,
    UnknownMomentProblem,
    UnknownMomentVersionProblem,
)
from .deps import civic as _civic
from .staff_auth import current_officer

router = APIRouter(prefix="/v1/insights", tags=["insights"])


def day(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=timezone.utc)
    except ValueError:
        raise InvalidPeriodError(f"'{what}' is a date such as 2026-11-01, not {value!r}") from None


def report(civic, officer: Officer, moment: str, version: str | None, start: str | None, end: str | None,
           group: str | None) -> dict[str, Any]:
    """The report, or the problem that explains why not (403, 404 naming the moment or version, 422)."""
    if not civic.pack.policy.sees_insights(officer):
        raise InsightsNotPermittedError("insights are for the policy and performance roles")
    try:
        return civic.insights.report(moment, version or None, day(start, "from"), day(end, "to"), group or None)
    except engine.UnknownMomentError as exc:
        raise UnknownMomentProblem(str(exc)) from None
    except engine.UnknownVersionError as exc:
        raise UnknownMomentVersionProblem(str(exc)) from None
    except engine.UnknownGroupError as exc:
        raise UnknownGroupProblem(str(exc)) from None


@router.get("/{moment}", summary="A moment's impact, experience, efficiency, trust and take-up measures",
            responses={200: {"description": "the measures; cells of fewer than 10 people are withheld",
                             "content": {"application/json": {}, "text/csv": {}}}})
def show(request: Request, moment: str, version: str | None = None, start: str | None = None,
         end: str | None = None, group: str | None = None, format: str = "json",
         me: Officer = Depends(current_officer)):
    """Query: ``version`` (e.g. v1), ``start``/``end`` (dates, start inclusive), ``group`` (online,
    age_band, region, language), ``format=csv``. A period with no journeys answers ``empty: true``
    with the reason, never zeros."""
    found = report(_civic(request), me, moment, version, start, end, group)
    if format == "csv":
        return PlainTextResponse(engine.report_csv(found), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": f'attachment; filename="{moment}-insights.csv"'})
    return plain(found)


@router.get("/{moment}/compare", summary="Two versions of a moment side by side on every measure")
def compare(request: Request, moment: str, before: str, after: str, me: Officer = Depends(current_officer)):
    civic = _civic(request)
    if not civic.pack.policy.sees_insights(me):
        raise InsightsNotPermittedError("insights are for the policy and performance roles")
    try:
        return plain(civic.insights.compare(moment, before, after))
    except engine.UnknownMomentError as exc:
        raise UnknownMomentProblem(str(exc)) from None
    except engine.UnknownVersionError as exc:
        raise UnknownMomentVersionProblem(str(exc)) from None
