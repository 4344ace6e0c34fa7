"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..domain.cases import CaseRuleError
from ..engine.errors import Problem

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.as_dict(), status_code=problem.status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(CaseRuleError)
    async def _case_rule(_: Request, exc: CaseRuleError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=exc.status, media_type=PROBLEM_JSON)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"pointer": "/" + "/".join(str(p) for p in e["loc"]), "message": e["msg"]}
                  for e in exc.errors()]
        body = {"type": "https://civicmoments.org/problems/invalid-request", "title": "Invalid request",
                "status": 422, "detail": "; ".join(f"{e['pointer']}: {e['message']}" for e in errors),
                "errors": errors}
        return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)
