"""Schema-based fuzzing of the whole API (schemathesis): no 5xx, and every answer as documented.

Each operation in the OpenAPI gets at least 25 generated requests, with a token that may do
everything and without one. Bounded in time by the examples and the test timeout.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from civicmoments.api.app import create_app

from ..conftest import make_app

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(1200)]

SCOPES = ("journeys:read people:read people:write people:answer consents:read consents:write facts:identity "
          "facts:address facts:finance facts:employment transit:check print messages:content messages:read "
          "messages:write uk.gov.dwp.employment.* civic.*").split()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 25


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from civicmoments.domain.clock import FakeClock

    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'civic.db'}", FakeClock(),
                   settings={"max_payload_bytes": 200_000, "max_body_bytes": 200_000,
                             "receipts_token": "fuzz-receipts"})
    _, token = app.organisations.add("Everything", ["https://everything.example/*"], SCOPES)
    app.start_engine().start()  # so /healthz answers 200, as it does in service
    yield create_app(app), token
    app.supervisor.stop()
    app.store.close()


def runner(operation, headers: dict[str, str], calls: list[int]):
    """A Hypothesis test for one operation: EXAMPLES generated requests, each checked."""
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        calls.append(1)
        case.call_and_validate(headers=headers, checks=CHECKS)

    return run


def fuzz(api, headers: dict[str, str]) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    failures, count, thin = [], 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        count += 1
        calls: list[int] = []
        try:
            runner(operation, headers, calls)()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - gather every operation's failure
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
        takes_input = bool(operation.path_parameters or operation.query or operation.body)
        if takes_input and len(calls) < EXAMPLES:
            thin.append(f"{operation.label}: {len(calls)} examples")
    assert not thin, thin  # every operation that takes input got at least EXAMPLES requests
    return count, failures


def test_with_a_token_the_api_answers_every_generated_request_as_documented(api):
    count, failures = fuzz(api[0], {"Authorization": f"Bearer {api[1]}"})
    assert count >= 30  # every operation, the events intake and /healthz included
    assert not failures, "\n\n".join(failures)


def test_without_a_token_the_api_answers_every_generated_request_as_documented(api):
    count, failures = fuzz(api[0], {})
    assert not failures, "\n\n".join(failures)
