"""The "Your payments" page (``/payments``): each award with its rate, the next payment's day and
amount, the payments made, and what to do if one is missing. Only the last four digits of an account
are ever shown. Money and dates are formatted here, simply, in the page's language.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..domain.payments import pounds


def router(portal, signed_in) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    @r.get("/payments", response_class=HTMLResponse)
    def payments(request: Request) -> Response:
        person = signed_in(request)
        lang = portal.lang(request)

        def day(value: date | None) -> str:
            return format_date(value, format="long", locale="cy" if lang == "cy" else "en_GB") if value else ""

        awards: list[dict[str, Any]] = []
        for a in civic.payments.view(person):
            rate = a["rate"]
            awards.append({
                "service": a["service"], "status": a["status"], "hold": a["hold"],
                "rate": pounds(rate["pence"]) if rate else "", "per": (rate or {}).get("per", "week"),
                "source": (rate or {}).get("source", ""), "start": day(a["start_on"]), "end": day(a["end_on"]),
                "next": {"amount": pounds(a["next"]["amount"]), "on": day(a["next"]["pay_on"]),
                         "held": a["next"]["status"] == "held"} if a["next"] else None,
                "paid": [{"period": f"{day(p['start_on'])} – {day(p['end_on'])}", "amount": pounds(p["amount"]),
                          "on": day(p["pay_on"]), "last4": p["account_last4"] or "", "status": p["status"]}
                         for p in a["paid"]]})
        return portal.page(request, "payments.html", awards=awards)

    return r
