"""Database errors at intake are logged without the event's values, even with SQL logging turned on."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from fastapi.testclient import TestClient

from civicmoments import logs
from civicmoments.api.app import create_app
from civicmoments.engine import bounds, intake

from ..conftest import make_app

JOB_ENDED = "uk.gov.dwp.employment.job-ended"
SOURCE = "https://northfield.example/hr"
SECRET = "Wilhelmina-Okonkwo-Fitzgerald"  # stands for personal data: it must appear in no log


def event(n: int, subject: str = f"p-{SECRET}", occupation: str = SECRET, **attrs) -> dict:
    return {"specversion": "1.0", "type": JOB_ENDED, "source": SOURCE, "id": f"n-{n}", "subject": subject,
            "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 30, "occupation": occupation},
            **attrs}


# Each kind of error PostgreSQL (or its driver) raises for an event's values.
KINDS = {
    "NUL in jsonb data": lambda n: event(n, occupation=f"{SECRET}\u0000"),
    "NUL in a text column": lambda n: event(n, subject=f"{SECRET}\u0000"),
    "subject longer than its column": lambda n: event(n, subject=SECRET * 20),
    "id longer than its column": lambda n: {**event(n), "id": f"{SECRET}-" + "x" * 600},
    "source longer than its column": lambda n: event(n, source=f"{SOURCE}/{SECRET}" + "s" * 600),
}


@pytest.mark.postgres
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_database_error_at_intake_logs_no_value_of_the_event(pg_url, clock, monkeypatch, capfd, caplog, kind):
    # Take away the checks that normally stop these values before the database sees them.
    monkeypatch.setattr(bounds, "check", lambda value, where="", depth=0: None)
    monkeypatch.setattr(intake, "COLUMN_LIMITS", {})
    logs.configure("INFO", json=True)
    structlog.configure(cache_logger_on_first_use=False)  # each test's captured stderr, not the first one's
    intake.log.__dict__.pop("bind", None)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # an operator debugging with SQL logging on
    caplog.set_level(logging.INFO)
    try:
        app = make_app(pg_url, clock)
        app.intake.authority = None  # and who may report whom: these values must reach the inbox's write
        _, token = app.organisations.add("Northfield", ["https://northfield.example/*"],
                                         ["uk.gov.dwp.employment.*"])
        client = TestClient(create_app(app), raise_server_exceptions=False)
        batch = [event(1), KINDS[kind](2), event(3)]
        r = client.post("/v1/events", content=json.dumps(batch),
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/cloudevents-batch+json"})
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert r.status_code == 207, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["problem"]["type"].endswith("/unstorable-event")
    assert SECRET not in results[1]["problem"]["detail"]
    out, err = capfd.readouterr()
    logged = out + err + caplog.text
    assert "event refused by the database" in logged  # the failure was logged...
    assert "SQL parameters hidden" in logged  # ...SQLAlchemy's statement logging ran...
    assert SECRET not in logged  # ...and nothing of the event's subject or data is in any of it
    app.store.close()
    structlog.reset_defaults()  # the next tests log to their own captured output, not this test's closed one
