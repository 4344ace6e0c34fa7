"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain.cases import CaseRuleError
from ..engine import bounds
from ..engine.bounds import MAX_DEPTH
from ..engine.errors import NestingTooDeepError, Problem

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.as_dict(), status_code=problem.status, media_type=PROBLEM_JSON)


HTTP_PROBLEMS = {
    400: ("malformed-request", "The request is malformed"),
    401: ("credential-missing", "No bearer token was sent"),
    403: ("permission-denied", "The organisation may not do this"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "This method is not allowed here"),
    406: ("not-acceptable", "No acceptable representation"),
    413: ("payload-too-large", "The request is larger than the limit"),
    415: ("unsupported-media-type", "This content type is not accepted"),
}


def _printable(value: object) -> str:
    """Text safe to put in JSON: lone surrogates and NUL from the request are escaped, not echoed."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(CaseRuleError)
    async def _case_rule(_: Request, exc: CaseRuleError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=exc.status, media_type=PROBLEM_JSON)

    @app.exception_handler(RecursionError)
    async def _deep(_: Request, exc: RecursionError) -> JSONResponse:
        return problem_response(NestingTooDeepError(
            f"the request is nested deeper than the limit of {MAX_DEPTH} levels"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = HTTP_PROBLEMS.get(exc.status_code, ("http-error", "The request cannot be served"))
        body = {"type": f"https://civicmoments.org/problems/{slug}", "title": title, "status": exc.status_code,
                "detail": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"pointer": "/" + "/".join(_printable(p) for p in e["loc"]), "message": _printable(e["msg"])}
                  for e in exc.errors()]
        body = {"type": "https://civicmoments.org/problems/invalid-request", "title": "Invalid request",
                "status": 422, "detail": "; ".join(f"{e['pointer']}: {e['message']}" for e in errors),
                "errors": errors}
        return JSONResponse(body, status_code=422, media_type=PROBLEM_JSON)


async def bounded_json(request: Request) -> None:
    """Every JSON body (other than events, which are checked one by one) is checked before use:
    nesting, 64-bit integers, NUL and lone surrogates, each refused with a problem naming the limit."""
    if request.method not in ("POST", "PUT", "PATCH") or request.url.path == "/v1/events":
        return
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        return
    body = await request.body()
    if body:
        bounds.check(bounds.loads(body))


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `type` is stable for each rule broken",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "pointer": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
DOCUMENTED = {
    "400": "The request is malformed (not JSON, a bad header)",
    "401": "No bearer token, or one that is not valid, expired or revoked",
    "403": "The organisation may not do this",
    "404": "No such resource",
    "409": "The request conflicts with what is recorded",
    "413": "The body is larger than the limit (refused before it is read)",
    "415": "This content type is not accepted",
    "422": "A value breaks a rule (schema, range, size, text that cannot be stored)",
    "429": "Too many requests: slow down",
}


def document(app: FastAPI) -> None:
    """Every operation under /v1 documents its problem responses, so schema-based clients and fuzzers
    see the real contract."""
    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
        spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in spec["paths"].items():
            if not path.startswith("/v1/"):
                continue
            for op in operations.values():
                responses = op.setdefault("responses", {})
                for status, description in DOCUMENTED.items():
                    responses[status] = {"description": description, "content": problem}
        spec["components"]["schemas"].pop("HTTPValidationError", None)
        spec["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi
