"""The person's request to erase what the law does not require us to keep (UK GDPR Art. 17).

The request is recorded and announced as ``civic.erasure.requested``; a case decides what can
go and writes to the person. The page says exactly that, no more.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response


def router(portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    def person_of(request: Request) -> str | None:
        return portal.person(request)

    @r.get("/data/erase", response_class=HTMLResponse)
    def erase(request: Request) -> Response:
        if person_of(request) is None:
            return RedirectResponse("/sign-in", status_code=303)
        return portal.page(request, "erase.html", errors=[], values={})

    @r.post("/data/erase", response_class=HTMLResponse)
    async def request_erasure(request: Request) -> Response:
        person = person_of(request)
        if person is None:
            return RedirectResponse("/sign-in", status_code=303)
        data = await portal.form(request)
        details = data.get("details", "").strip()
        lang = portal.lang(request)
        if not details:
            return portal.page(request, "erase.html", status=400, values=data, errors=[
                {"text": portal.words(lang, "err_required", what=portal.words(lang, "erase_label").lower()),
                 "href": "#details"}])
        civic.retention.request_erasure(person, details)
        return portal.page(request, "done.html", message=portal.words(lang, "erase_sent"))

    return r
