"""DuckDB reading the store gives the same measures as the reference (SQL per journey, summed in
Python by ``domain.insights``), on SQLite and PostgreSQL, over a random population with every
kind of record, groups small enough to be suppressed, two versions, two moments and periods."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert

from civicmoments.adapters.store import analytics
from civicmoments.adapters.store.schema import (
    access_log,
    case_timeline,
    cases,
    consents,
    eligibility_state,
    journey_groups,
    journeys,
    message_history,
    messages,
    outbox,
    timeline,
)
from civicmoments.domain import insights as m

from ..conftest import make_app

N = 700


def populate(app, seed: int = 19) -> None:
    """``N`` journeys of job-loss (v1, v2 and a few unknown) and some of another moment, each
    with a random mix of what the measures read; people share journeys now and then."""
    rng = random.Random(seed)
    start = app.clock.now()
    rows: dict = {t: [] for t in (journeys, timeline, messages, message_history, outbox, cases, case_timeline,
                                  consents, access_log, eligibility_state, journey_groups)}
    seq = 0
    for i in range(N + 40):
        jid, person = f"j{i:04d}", f"p{rng.randrange(N):04d}"
        began = start + timedelta(days=rng.randrange(60), seconds=rng.randrange(86400))
        reached = rng.random() < 0.55
        days = rng.uniform(1, 250)
        confirmed = {"at": (began + timedelta(days=days)).isoformat()}
        outcome = ({"duration_s": round(days * 86400, 3), "confirmed": confirmed}
                   if reached else rng.choice([None, {"duration_s": 5.0}]))
        moment = "job-loss" if i < N else "new-baby"
        rows[journeys].append({"id": jid, "moment": moment, "person": person,
                               "status": "completed" if reached else "active", "version": 1, "started_at": began,
                               "updated_at": began, "state": {"trigger": {}, "steps": {}, "outcome": outcome},
                               "moment_version": rng.choice(["v1", "v2", "v2", None]), "moment_digest": None})
        for _ in range(rng.randrange(3)):
            rows[timeline].append({"journey_id": jid, "at": began, "kind": rng.choice(["step-started", "step-done",
                                                                                      "started"]),
                                   "step": "survey", "detail": {"kind": "ask", "questions": rng.randrange(6)}})
        for k in range(rng.randrange(4)):
            mid = f"m{i:04d}{k}"
            rows[messages].append({"id": mid, "key": mid, "person_id": person, "journey_id": jid,
                                   "template": "notice", "version": 1, "locale": "en", "purpose": None,
                                   "content": "", "needs": {}, "chain": [], "position": rng.randrange(2),
                                   "status": rng.choice(["delivered", "sent", "failed"]), "attempts": 1,
                                   "created_at": began + timedelta(seconds=rng.randrange(1, 400_000)),
                                   "updated_at": began})
            for channel in rng.sample(["sms", "letter", "email", "inbox"], rng.randrange(3)):
                for _ in range(rng.randrange(1, 3)):  # the same channel twice counts once
                    rows[message_history].append({"message_id": mid, "at": began, "channel": channel,
                                                  "status": rng.choice(["delivered", "sent", "failed"]),
                                                  "detail": ""})
        for k in range(rng.randrange(3)):
            step, kind = rng.choice([("match", "share"), ("award", "grant"), ("late-award", "grant")])
            rows[outbox].append({"key": f"{jid}:{k}", "journey_id": jid, "person": person, "step": step,
                                 "kind": kind, "payload": {}, "status": rng.choice(["done", "done", "pending"]),
                                 "attempts": 1, "max_attempts": 5, "backoff_seconds": 2.0,
                                 "next_attempt_at": began, "created_at": began})
        for k in range(rng.randrange(3)):
            cid = f"c{i:04d}{k}"
            queue = rng.choice(["job-matching", "decision-review", "correction", "mandatory-reconsideration"])
            rows[cases].append({"id": cid, "key": cid, "queue": queue, "organisation": "employment-department",
                                "person_id": person, "journey_id": jid if rng.random() < 0.7 else None,
                                "reason": "test", "priority": "normal", "status": "open",
                                "opened_at": began + timedelta(days=rng.randrange(-5, 30)), "due_at": began,
                                "version": 1, "data": {}, "tasks": [],
                                "outcome": rng.choice([None, "overturned", "upheld"])})
            for _ in range(rng.randrange(3)):
                rows[case_timeline].append({"case_id": cid, "at": began, "actor": rng.choice(["officer", None]),
                                            "action": "note", "detail": {}})
        for k in range(rng.randrange(3)):
            rows[consents].append({"id": f"k{i:04d}{k}", "person_id": person, "purpose": "employment-support",
                                   "notice_version": "1",
                                   "state": rng.choice(["given", "refused", "withdrawn", "objected"]),
                                   "at": began + timedelta(days=rng.randrange(-3, 10)), "channel": "portal"})
        if rng.random() < 0.3:
            seq += 1
            rows[access_log].append({"seq": seq, "prev": "0" * 64, "hash": f"{seq:064d}", "person_id": person,
                                     "body": {"outcome": rng.choice(["refused", "allowed"]), "person": person}})
        rows[journey_groups].append({"journey_id": jid, "online": rng.choice(["online"] * 9 + ["not-online"]),
                                     "age_band": rng.choice(["16-24", "25-34", "35-49", "50-64", "65+"]),
                                     "region": rng.choice(["Leeds", "York", "Leeds", "Hull"] * 30 + ["Skipton"]),
                                     "language": rng.choice(["en"] * 40 + ["cy"])})
    for person in {r["person"] for r in rows[journeys]}:
        if rng.random() < 0.5:
            rows[eligibility_state].append({"person_id": person, "service": "jsa-new-style",
                                            "eligible": rng.random() < 0.8, "since": start.date()})
    with app.store.engine.begin() as conn:
        for table, values in rows.items():
            if values:
                conn.execute(insert(table), values)


def both(app, call):
    """(the DuckDB result, the reference result) of ``call(app.insights)``."""
    ins = app.insights
    assert ins.store.analytics is not None, analytics.unavailable
    fast = call(ins)
    kept, ins.store.analytics = ins.store.analytics, None
    try:
        slow = call(ins)
    finally:
        ins.store.analytics = kept
    assert (fast.pop("engine"), slow.pop("engine")) == ("duckdb", "sql")
    return fast, slow


def test_duckdb_and_the_reference_give_the_same_measures(db_url, clock):
    app = make_app(db_url, clock, settings={"insights_engine": "duckdb"})
    populate(app)
    start = clock.now()
    fast, slow = both(app, lambda ins: ins.report("job-loss"))
    assert fast == slow and fast["journeys"] == N
    assert isinstance(fast["measures"]["impact"]["outcome_days_p90"], float)  # not suppressed: compared
    hidden = []
    for group in m.GROUPS:
        fast, slow = both(app, lambda ins, g=group: ins.report("job-loss", group=g))
        assert fast == slow, group
        hidden += [g for g, cell in fast["groups"].items() if cell["measures"] is None]
    assert len(hidden) >= 2, "small groups are suppressed (and the next smallest), and compared as such"
    for version in ("v1", "unknown"):
        fast, slow = both(app, lambda ins, v=version: ins.report("job-loss", version=v, group="online"))
        assert fast == slow, version
    fast, slow = both(app, lambda ins: ins.report("job-loss", start=start + timedelta(days=10),
                                                  end=start + timedelta(days=40), group="age_band"))
    assert fast == slow and 0 < fast["journeys"] < N
    fast, slow = both(app, lambda ins: ins.report("job-loss", start=start + timedelta(days=100)))
    assert fast == slow and fast["empty"]
    fast, slow = both(app, lambda ins: ins.compare("job-loss", "v1", "v2"))
    assert fast == slow
    app.store.close()


def test_each_tally_matches_the_reference_sums(db_url, clock):
    """Field by field, so a difference names the figure (the measures round some away)."""
    app = make_app(db_url, clock, settings={"insights_engine": "duckdb"})
    populate(app, seed=5)
    ins = app.insights
    ins.refresh_groups()
    rows = ins.rows("job-loss")
    within, costs = ins._within("job-loss"), ins.settings.costs
    got = ins.tallies("job-loss", None, None, None, (("region", False), ("region", True)))
    for region in {r.region for r in rows}:
        assert got[("region", False)][region] == m.tally([r for r in rows if r.region == region], within, costs)
        assert got[("region", True)][region] == m.tally([r for r in rows if r.region != region], within, costs)
    app.store.close()


def test_duckdb_loads_the_pinned_extension_and_never_fetches_one(db_url, clock, tmp_path):
    """The extension is the packaged file of DuckDB's own version, auto-install and auto-load are
    off, and the CLI says which engine computed the figures."""
    import duckdb
    from click.testing import CliRunner

    from civicmoments.cli import main

    from ..conftest import TEST_KEYS, UK_PACK

    app = make_app(db_url, clock, settings={"insights_engine": "duckdb"})
    populate(app, seed=3)
    found = app.insights.store.analytics
    assert found is not None and found.extension == analytics.extension_path(found.extension.stem,
                                                                             duckdb.__version__)
    assert analytics.extension_path(found.extension.stem, "0.0.1") is None
    with found._attached() as c:
        settings = dict(c.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                  "('autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
        loaded = c.execute("SELECT install_mode FROM duckdb_extensions() WHERE extension_name = ?",
                           [found.extension.stem]).fetchone()
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    assert loaded == ("NOT_INSTALLED",)  # loaded by path, nothing put in ~/.duckdb
    env = {**TEST_KEYS, "CIVIC_DATABASE_URL": db_url, "CIVIC_PACK_DIR": str(UK_PACK),
           "CIVIC_DATA_DIR": str(tmp_path / "data"), "CIVIC_LOG_LEVEL": "WARNING", "CIVIC_INSIGHTS_ENGINE": "duckdb"}
    out = CliRunner().invoke(main, ["insights", "show", "job-loss"], env=env, catch_exceptions=False)
    assert out.exit_code == 0 and out.output.splitlines()[-1] == "computed with duckdb", out.output
    app.store.close()


def test_a_store_duckdb_cannot_attach_is_named_without_its_password():
    """A PostgreSQL address that does not answer: the error says so, and never shows the password."""
    import duckdb
    import pytest
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://civic:s3cret-word@127.0.0.1:1/nowhere")
    found = analytics.Analytics.open(engine)
    assert found is not None
    with pytest.raises(analytics.AnalyticsError) as caught:
        with found._attached():
            pass
    assert "could not attach the store" in str(caught.value)
    assert "s3cret-word" not in str(caught.value)
    assert not isinstance(caught.value, duckdb.Error)
    found.close()


def test_reading_the_measures_leaves_other_processes_seeing_what_this_one_writes(sqlite_url, clock):
    """DuckDB's SQLite reader must not drop the locks this process holds on the store: if it did, the
    next process to open and close the file (``civic cases ...`` beside ``civic serve``) would take
    itself for the last one, delete the write-ahead log under this process, and every write after
    that would be lost to other processes and on restart."""
    import sqlite3
    import subprocess
    import sys

    app = make_app(sqlite_url, clock, settings={"insights_engine": "duckdb"})
    populate(app)
    assert app.insights.store.analytics is not None, analytics.unavailable
    app.insights.report("job-loss")
    path = sqlite_url.removeprefix("sqlite:///")
    peek = f"import sqlite3; c = sqlite3.connect({path!r}); print(c.execute('select count(*) from organisations')" \
           f".fetchone()[0]); c.close()"
    subprocess.run([sys.executable, "-c", peek], check=True, capture_output=True)  # another process, in and out
    app.organisations.add("Written after", ["https://after.example/*"], [])
    seen = subprocess.run([sys.executable, "-c", peek], check=True, capture_output=True, text=True).stdout
    assert int(seen) == 1, "a write after the measures were read is invisible to another process"
    assert sqlite3.connect(path).execute("select count(*) from organisations").fetchone()[0] == 1
    app.store.close()
    assert app.insights.store.analytics._child is None  # DuckDB's process ends with the store
