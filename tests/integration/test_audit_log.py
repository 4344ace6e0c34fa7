"""The access log cannot be quietly rewritten: each way of rewriting it is found, on SQLite
and PostgreSQL, by ``verify`` comparing the chain, the columns readers use, the numbered
checkpoints and their copy outside the database."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from civicmoments.adapters.store.schema import access_log, audit_checkpoints
from civicmoments.domain.audit import GENESIS, link

from ..conftest import make_app


@pytest.fixture
def logged(db_url, clock):
    """Twelve disclosures about one person, checkpoints every five entries."""
    app = make_app(db_url, clock, settings={"audit_checkpoint_every": 5, "audit_checkpoint_minutes": 10})
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    app.organisations.add("JobMatch", ["j"], [])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "occupation", "value": "fitter"}])
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation"])
    app.consents.give(person, "employment-support")
    partner = app.store.organisation("JobMatch")["id"]
    for _ in range(12):
        clock.advance(timedelta(seconds=5))
        app.gate.disclose(partner, "employment-support", [person], ["occupation"])
    app.person = person
    yield app
    app.store.close()


def problems(app) -> list[str]:
    report = app.audit.verify()
    return report.problems


def rewrite(app, from_seq: int, recipient: str = "someone-else") -> None:
    """Rewrite the chain consistently from ``from_seq``: every hash recomputed."""
    with app.store.engine.begin() as conn:
        rows = conn.execute(select(access_log).order_by(access_log.c.seq)).all()
        prev = GENESIS
        for r in rows:
            body = dict(r.body)
            if r.seq >= from_seq:
                body["recipient"] = recipient
            h = link(prev, body)
            if r.seq >= from_seq:
                conn.execute(update(access_log).where(access_log.c.seq == r.seq).values(prev=prev, hash=h, body=body))
            prev = h


def test_checkpoints_are_taken_by_themselves_and_the_untouched_log_verifies(logged):
    report = logged.audit.verify()
    assert report.intact, report.problems
    assert (report.entries, report.checkpoints, report.checkpoint) == (12, 2, 10)
    copy = [json.loads(line) for line in logged.settings.resolved_audit_copy().read_text().splitlines()]
    assert [(c["number"], c["seq"]) for c in copy] == [(1, 5), (2, 10)]


def test_a_checkpoint_the_copy_cannot_take_keeps_the_entries_and_the_next_append_takes_it(logged, tmp_path):
    """The checkpoint is taken in the appending transaction; when its copy cannot be written the
    entries still go in, and the next append, with the copy back, checkpoints them all."""
    copy = logged.audit.copy
    kept, blocked = copy.path, tmp_path / "a-file"
    blocked.write_text("")
    copy.path = blocked / "copy.jsonl"  # its folder is a file: the copy cannot be written
    partner = logged.store.organisation("JobMatch")["id"]
    for _ in range(4):
        logged.gate.disclose(partner, "employment-support", [logged.person], ["occupation"])
    assert (logged.audit.store.log_head()[0], logged.audit.store.last_checkpoint()["seq"]) == (16, 10)
    copy.path = kept
    logged.gate.disclose(partner, "employment-support", [logged.person], ["occupation"])
    report = logged.audit.verify()
    assert report.intact, report.problems
    assert (report.entries, report.checkpoints, report.checkpoint) == (17, 3, 17)


def test_deleting_the_newest_checkpoint_and_rewriting_after_the_older_is_found(logged):
    with logged.store.engine.begin() as conn:
        conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.number == 2))
    rewrite(logged, 6)
    found = problems(logged)
    assert any("checkpoint 2 (entry 10) is in the external copy but missing from the database" in p for p in found)
    assert any("entry 10 does not match the signed checkpoint 2" in p for p in found)


def test_deleting_every_checkpoint_and_rewriting_everything_is_found(logged):
    with logged.store.engine.begin() as conn:
        conn.execute(delete(audit_checkpoints))
    rewrite(logged, 1)
    found = problems(logged)
    assert any("checkpoint 1 (entry 5) is in the external copy but missing" in p for p in found)
    assert any("entry 5 does not match the signed checkpoint 1" in p for p in found)


def test_deleting_the_checkpoints_and_their_copy_leaves_a_log_without_a_checkpoint_it_must_have(logged):
    with logged.store.engine.begin() as conn:
        conn.execute(delete(audit_checkpoints))
    logged.settings.resolved_audit_copy().unlink()
    rewrite(logged, 1)
    found = problems(logged)
    assert any("there is no checkpoint, but entries 1 to 12 are not covered" in p for p in found)


def test_re_pointing_person_id_is_found_and_the_person_still_sees_only_their_own(logged):
    person = logged.person
    assert len(logged.registry.store.log_for(person)) == 12
    with logged.store.engine.begin() as conn:
        conn.execute(update(access_log).values(person_id="someone-else"))
    found = problems(logged)
    assert sum("person_id column does not match its hashed content" in p for p in found) == 12
    assert logged.registry.store.log_for("someone-else") == []  # the column alone shows nobody another's log


def test_a_stale_checkpoint_is_found_and_the_periodic_check_takes_a_new_one(logged, clock):
    clock.advance(timedelta(minutes=12))  # entries 11 and 12 have waited longer than ten minutes
    assert any("the newest checkpoint is at entry 10, but entries 11 to 12 are not covered" in p
               for p in problems(logged))
    logged.worker.housekeeping()  # what `civic serve` and `civic worker` run every minute
    report = logged.audit.verify()
    assert report.intact and (report.checkpoints, report.checkpoint) == (3, 12)


def test_an_altered_external_copy_is_not_evidence(logged):
    path = logged.settings.resolved_audit_copy()
    lines = path.read_text().splitlines()
    forged = json.loads(lines[1])
    forged["head"] = "f" * 64
    path.write_text("\n".join([lines[0], json.dumps(forged)]) + "\n")
    found = problems(logged)
    assert any("checkpoint 2 (external copy) has a bad signature" in p for p in found)
    assert any("checkpoint 2 is in the database but not in the external copy" in p for p in found)


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "truncate", "checkpoint-head", "renumber"])
def test_the_kinds_already_caught_are_still_caught(logged, tamper):
    engine = logged.store.engine
    with engine.begin() as conn:
        if tamper == "edit":
            body = conn.execute(select(access_log.c.body).where(access_log.c.seq == 3)).scalar()
            conn.execute(update(access_log).where(access_log.c.seq == 3).values(body={**body, "recipient": "x"}))
        elif tamper == "delete":
            conn.execute(delete(access_log).where(access_log.c.seq == 2))
        elif tamper == "reorder":
            for a, b in ((2, 100), (3, 2), (100, 3)):
                conn.execute(update(access_log).where(access_log.c.seq == a).values(seq=b))
        elif tamper == "truncate":
            conn.execute(delete(access_log).where(access_log.c.seq >= 8))
        elif tamper == "checkpoint-head":
            conn.execute(update(audit_checkpoints).where(audit_checkpoints.c.number == 1).values(head="0" * 64))
        else:
            conn.execute(update(audit_checkpoints).where(audit_checkpoints.c.number == 2).values(number=3))
    expected = {"edit": "entry 3 was edited", "delete": "entry 2 is missing: deleted",
                "reorder": "does not follow the entry before it", "truncate": "it was cut short",
                "checkpoint-head": "checkpoint 1 has a bad signature",
                "renumber": "checkpoint 3 has a bad signature"}[tamper]
    found = problems(logged)
    assert any(expected in p for p in found), found


def test_processes_checkpointing_at_once_number_their_checkpoints_one_after_another(logged, db_url, clock):
    other = make_app(db_url, clock, settings={"audit_checkpoint_every": 3,
                                              "data_dir": logged.settings.data_dir})
    logged.audit.every_entries = 3
    partner = logged.store.organisation("JobMatch")["id"]

    def run(app):
        for _ in range(15):
            app.gate.disclose(partner, "employment-support", [logged.person], ["occupation"])

    threads = [threading.Thread(target=run, args=(a,)) for a in (logged, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.store.close()
    report = logged.audit.verify()
    assert report.intact, report.problems
    assert report.checkpoints >= 2 + 30 // 3 - 1


def test_the_log_survives_migration_0024_both_ways_with_its_index_and_trigger(logged):
    """0024 makes ``seq`` SQLite's row id by rebuilding the table: the entries, the person's index
    and the insights trigger come through it, up and down, and the chain still verifies."""
    from sqlalchemy import text

    from civicmoments.adapters.store.migrate import downgrade, upgrade

    def shape() -> tuple[list, list]:
        with logged.store.engine.connect() as conn:
            rows = conn.execute(select(access_log).order_by(access_log.c.seq)).all()
            objects = sorted(conn.execute(text(
                "SELECT type, name FROM sqlite_master WHERE tbl_name = 'access_log'")).all()) \
                if conn.dialect.name == "sqlite" else []
        return rows, objects

    before = shape()
    for target in ("0023", "head"):
        downgrade(logged.store.engine, target) if target == "0023" else upgrade(logged.store.engine, target)
        assert shape()[0] == before[0]
        assert problems(logged) == []
    if logged.store.engine.dialect.name == "sqlite":
        assert ("index", "ix_access_log_person") in before[1] and ("trigger", "insight_refusal") in before[1]
        assert ("index", "sqlite_autoindex_access_log_1") not in before[1]  # seq is the row id
        assert shape()[1] == before[1]
