"""The "Your payments" page (``/payments``): each award with its rate, the next payment's day and
amount, the payments made, and what to do if one is missing. Only the last four digits of an account
are ever shown. Money and dates are formatted here, simply, in the page's language.

A change of bank details (``/payments/bank-details``): the name on the account, the sort code and the
account number, checked as the survey checks them (format, then Vocalink's modulus check); a code goes to
a contact detail already held (``Payments.request_bank_change``) and is entered on
``/payments/bank-details/code``, the page the contact details' codes use. Only the change's id is kept in
the session; the new details stay sealed in the store until the code confirms them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..domain import codes
from ..domain.bank_accounts import BankDetailsError
from ..domain.payments import pounds
from ..logs import get

log = get("civic.portal")
NAME_MAX = 70  # the longest creditor name a pain.001 file carries


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
                         "held": a["next"]["status"] == "held", "why": a["next"]["held_reason"]}
                if a["next"] else None,
                "paid": [{"period": f"{day(p['start_on'])} – {day(p['end_on'])}", "amount": pounds(p["amount"]),
                          "on": day(p["pay_on"]), "last4": p["account_last4"] or "", "status": p["status"]}
                         for p in a["paid"]]})
        return portal.page(request, "payments.html", awards=awards)

    @r.get("/payments/bank-details", response_class=HTMLResponse)
    def bank_details(request: Request) -> Response:
        signed_in(request)
        return portal.page(request, "bank_details.html", values={}, errors=[], hold_days=civic.payments.hold_days)

    @r.post("/payments/bank-details", response_class=HTMLResponse)
    async def give_bank_details(request: Request) -> Response:
        """Checked, kept sealed, and a code sent to a contact detail already held; nothing changes yet."""
        from ..engine.messages import InvalidPreferencesError
        from ..engine.payments import NoContactError

        person = signed_in(request)
        data = await portal.form(request)
        lang = portal.lang(request)
        name = " ".join(data.get("account_name", "").split())
        errors = [] if name and len(name) <= NAME_MAX else [
            {"text": portal.words(lang, "bank_err_name" if not name else "bank_err_name_long"),
             "href": "#account_name", "field": "account_name"}]
        value, problems = portal.bank_details(lang, data)
        errors += problems
        held = civic.payments.held_contact(person) if not errors else None
        if held is not None and held[0] not in civic.messenger.channels:  # a code that could never arrive
            log.warning("bank details code not sent: no provider", channel=held[0].value)
            errors = [{"text": portal.words(lang, "contact_err_not_sent"), "href": "#account_name"}]
        if not errors:
            sc, acc = value.split(" ")
            try:
                change = civic.payments.request_bank_change(person, sc.replace("-", ""), acc, name=name)
            except BankDetailsError:  # the pack's tables and the engine's agree; kept for a changed table
                errors = [{"text": portal.words(lang, "err_bank_modulus"), "href": "#account_number"}]
            except NoContactError:
                errors = [{"text": portal.words(lang, "bank_err_no_contact"), "href": "#account_name"}]
            except InvalidPreferencesError:
                log.warning("bank details code not queued")
                errors = [{"text": portal.words(lang, "contact_err_not_sent"), "href": "#account_name"}]
        if errors:
            values = {k: data.get(k, "") for k in ("account_name", "sort_code", "account_number")}
            return portal.page(request, "bank_details.html", status=400, values=values, errors=errors,
                               hold_days=civic.payments.hold_days)
        request.session["bank_change"] = change  # its id and where the code went (masked): never the details
        return RedirectResponse("/payments/bank-details/code", status_code=303)

    def code_page(request: Request, pending: dict[str, str], status: int = 200, errors=()) -> Response:
        lang = portal.lang(request)
        sent = portal.words(lang, f"bank_code_sent_{pending['channel']}", to=pending["to"],
                            minutes=civic.payments.code_minutes)
        return portal.page(request, "contact_code.html", status=status, action="/payments/bank-details/code",
                           back="/payments/bank-details", sent=sent, again=portal.words(lang, "bank_code_again"),
                           errors=list(errors))

    @r.get("/payments/bank-details/code", response_class=HTMLResponse)
    def bank_code(request: Request) -> Response:
        signed_in(request)
        pending = request.session.get("bank_change")
        if not pending:
            return RedirectResponse("/payments/bank-details", status_code=303)
        return code_page(request, pending)

    @r.post("/payments/bank-details/code", response_class=HTMLResponse)
    async def confirm_bank_code(request: Request) -> Response:
        from ..engine.payments import BankChangeError

        person = signed_in(request)
        data = await portal.form(request)
        pending = request.session.get("bank_change")
        if not pending:
            return RedirectResponse("/payments/bank-details", status_code=303)
        try:
            done = civic.payments.confirm_bank_change(person, pending["id"], codes.cleaned(data.get("code", "")))
        except BankChangeError as exc:
            key = f"bank_code_err_{exc.problem}" if exc.problem in ("expired", "tries", "used") \
                else f"code_err_{exc.problem}"
            errors = [{"text": portal.words(portal.lang(request), key), "href": "#code"}]
            return code_page(request, pending, status=400, errors=errors)
        request.session.pop("bank_change", None)
        portal.flash(request, "saved_bank_details_held" if done["held"] else "saved_bank_details",
                     last4=done["last4"])
        return RedirectResponse("/payments", status_code=303)

    return r
