"""Retention: what is past its period is gone, the access log says so (not the data), and the
chain still verifies; a person's request to erase is recorded and announced."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from civicmoments.adapters.store.schema import facts, inbox, outbox
from civicmoments.cli import main

from ..conftest import make_app
from ..e2e.conftest import civic_env
from .test_notifications import notify, person, send


def share_row(app, done_at) -> int:
    with app.store.engine.begin() as conn:
        return conn.execute(outbox.insert().values(
            key="j1:match", journey_id="j1", person="p", step="match", kind="share", status="done", attempts=1,
            max_attempts=5, backoff_seconds=1.0, next_attempt_at=done_at, created_at=done_at, done_at=done_at,
            payload={"spec": {"with": "JobMatch", "purpose": "employment-support", "attributes": ["occupation"]},
                     "trigger": {"age": 52, "reason": "redundancy"}, "results": {"assess": {"dob": "1974-01-01"}}},
        )).inserted_primary_key[0]


def test_data_past_its_period_is_removed_and_the_log_says_so(db_url, clock):
    app = make_app(db_url, clock)
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    app.organisations.add("JobMatch", ["j"], [])
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation"], retention_days=90)
    pid = person(app)
    app.registry.record(hmrc, pid, [{"attribute": "occupation", "value": "fitter"}])
    clock.advance(timedelta(days=1))
    app.registry.record(hmrc, pid, [{"attribute": "occupation", "value": "welder"}])
    notify(app, pid)  # notice-of-assistance: benefit-assessment, kept 2,190 days
    send(app)
    share = share_row(app, clock.now())
    start = clock.now().date()

    early = app.retention.run(start + timedelta(days=30))
    assert (early.facts, early.messages, early.shares) == (0, 0, 0)
    after_agreement = app.retention.run(start + timedelta(days=92))
    assert (after_agreement.facts, after_agreement.messages, after_agreement.shares) == (0, 0, 1)
    with app.store.engine.connect() as conn:
        payload = conn.execute(select(outbox.c.payload).where(outbox.c.id == share)).scalar()
    assert "trigger" not in payload and "results" not in payload
    assert payload["spec"] == {"with": "JobMatch", "purpose": "employment-support", "attributes": ["occupation"]}

    late = app.retention.run(start + timedelta(days=2200))
    assert (late.facts, late.messages) == (1, 1)
    with app.store.engine.connect() as conn:
        kept = conn.execute(select(facts.c.value).where(facts.c.person_id == pid,
                                                        facts.c.attribute == "occupation")).scalars().all()
    assert kept == ["welder"] and app.registry.profile(pid)["occupation"].value == "welder"
    (message,) = app.messenger.of_person(pid, reveal=True)
    assert message["content"]["subject"] == "Message removed" and "92.05" not in message["content"]["long"]
    assert message["history"]  # when and how it was sent stays
    entries = [e.body for e in app.registry.store.log_entries() if e.body.get("purpose") == "retention"]
    assert [(e["facts"], e["messages"], e["shares"]) for e in entries] == [(0, 0, 1), (1, 1, 0)]
    assert "welder" not in str(entries) and "fitter" not in str(entries)
    assert app.audit.verify().intact
    assert app.retention.run(start + timedelta(days=2201)).messages == 0  # nothing twice
    app.store.close()


def test_a_request_to_erase_is_recorded_and_announced(db_url, clock):
    app = make_app(db_url, clock)
    pid = app.registry.add_person()
    row = app.retention.request_erasure(pid, "Please delete my old job history")
    assert app.retention.store.erasure_requests(pid)[0]["status"] == "received"
    with app.store.engine.connect() as conn:
        events = conn.execute(select(inbox.c.type, inbox.c.data).where(inbox.c.subject == pid)).all()
    assert [(e.type, e.data) for e in events] == [("civic.erasure.requested", {"request": row["id"]})]
    app.store.close()


def test_civic_retention_run_says_what_it_did(tmp_path):
    env = civic_env(tmp_path)
    result = CliRunner().invoke(main, ["retention", "run", "--date", "2030-01-01"], env=env)
    assert result.exit_code == 0, result.output
    assert "retention for 2030-01-01: 0 superseded fact(s) deleted, 0 message text(s) removed" in result.output
    bad = CliRunner().invoke(main, ["retention", "run", "--date", "2030-13-01"], env=env)
    assert bad.exit_code == 2 and "2030-13-01" in bad.output
