"""The person attaches a document to one of their open cases (a payslip, a letter from HMRC).

`/evidence` lists the person's open cases; `/evidence/{case}` has the GOV.UK file upload
component. The file must be a PDF, JPEG or PNG (by its first bytes) and at most
``max_evidence_bytes``; a wrong one is named in the GOV.UK error summary. The document is sealed
at rest (engine/evidence.py) and the officer on the case sees it on the case page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from ..domain.cases import CaseNotFoundError
from ..engine.evidence import EvidenceRejectedError

REASON_WORDS = {"empty": "evidence_err_empty", "too-large": "evidence_err_size", "wrong-type": "evidence_err_type"}


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:g}MB"


def router(portal) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    civic = portal.civic

    def limit() -> str:
        return _megabytes(civic.settings.max_evidence_bytes)

    def case_of(person: str, case_id: str):
        return next((c for c in civic.evidence.open_cases(person) if c.id == case_id), None)

    def titled(case) -> dict:
        queue = civic.cases.queues.get(case.queue)
        return {"id": case.id, "title": queue.title if queue else case.queue, "opened": case.opened_at.date()}

    @r.get("/evidence", response_class=HTMLResponse)
    def cases(request: Request) -> Response:
        person = portal.person(request)
        if person is None:
            return RedirectResponse("/sign-in", status_code=303)
        return portal.page(request, "evidence.html", cases=[titled(c) for c in civic.evidence.open_cases(person)],
                           case=None, limit=limit(), errors=[])

    @r.get("/evidence/{case_id}", response_class=HTMLResponse)
    def form(request: Request, case_id: str) -> Response:
        person = portal.person(request)
        if person is None:
            return RedirectResponse("/sign-in", status_code=303)
        case = case_of(person, case_id)
        if case is None:
            return RedirectResponse("/evidence", status_code=303)
        return portal.page(request, "evidence.html", case=titled(case), cases=[], limit=limit(), errors=[])

    @r.post("/evidence/{case_id}", response_class=HTMLResponse)
    async def upload(request: Request, case_id: str) -> Response:
        person = portal.person(request)
        if person is None:
            return RedirectResponse("/sign-in", status_code=303)
        await portal.form(request)  # the CSRF check
        lang = portal.lang(request)
        case = case_of(person, case_id)
        if case is None:
            return RedirectResponse("/evidence", status_code=303)
        file = (await request.form()).get("document")

        def refused(key: str, status: int = 400) -> Response:
            return portal.page(request, "evidence.html", status=status, case=titled(case), cases=[], limit=limit(),
                               errors=[{"text": portal.words(lang, key, limit=limit()), "href": "#document"}])

        if not isinstance(file, UploadFile) or not file.filename:
            return refused("evidence_err_missing")
        data = await file.read(civic.settings.max_evidence_bytes + 1)
        try:
            civic.evidence.attach(person, case.id, file.filename, data)
        except EvidenceRejectedError as exc:
            return refused(REASON_WORDS[exc.reason], 413 if exc.reason == "too-large" else 400)
        except CaseNotFoundError:
            return RedirectResponse("/evidence", status_code=303)
        return portal.page(request, "done.html", message=portal.words(lang, "evidence_sent"))

    return r
