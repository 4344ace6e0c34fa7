"""``civic audit verify`` finds each kind of tampering with the access log, and says where."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from civicmoments.bootstrap import build
from civicmoments.cli import main
from civicmoments.settings import Settings

from .conftest import TEST_NOW, civic_env


@pytest.fixture
def logged(tmp_path):
    """Six disclosures logged, and a checkpoint signed after the fifth."""
    # the same day as `civic audit verify` runs on (CIVIC_NOW), so the newest checkpoint is recent
    app = build(Settings(data_dir=tmp_path, now=TEST_NOW))
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    app.organisations.add("JobMatch", ["j"], [])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "occupation", "value": "fitter"}])
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation"])
    app.consents.give(person, "employment-support")
    partner = app.store.organisation("JobMatch")["id"]
    for i in range(6):
        app.gate.disclose(partner, "employment-support", [person], ["occupation"])
        if i == 4:
            app.audit.checkpoint()
    app.store.close()
    env = civic_env(tmp_path)

    def verify():
        return CliRunner().invoke(main, ["audit", "verify"], env=env)

    return tmp_path / "civic.db", verify


def sql(db, *statements):
    with sqlite3.connect(db) as conn:
        for s in statements:
            conn.execute(s)


def test_an_untouched_log_verifies(logged):
    _, verify = logged
    result = verify()
    assert result.exit_code == 0
    assert "intact: 6 entries, last checkpoint at entry 5" in result.output


@pytest.mark.parametrize(("tamper", "finding"), [
    (["UPDATE access_log SET body = json_set(body, '$.recipient', 'nobody') WHERE seq = 3"],
     "entry 3 was edited"),
    (["DELETE FROM access_log WHERE seq = 2"], "entry 2 is missing: deleted"),
    (["UPDATE access_log SET seq = 100 WHERE seq = 2", "UPDATE access_log SET seq = 2 WHERE seq = 3",
      "UPDATE access_log SET seq = 3 WHERE seq = 100"], "does not follow the entry before it"),
    (["DELETE FROM access_log WHERE seq >= 4"], "it was cut short"),
    (["UPDATE audit_checkpoints SET head = replace(head, substr(head, 1, 1), 'x')"], "bad signature"),
])
def test_each_kind_of_tampering_is_found(logged, tamper, finding):
    db, verify = logged
    sql(db, *tamper)
    result = verify()
    assert result.exit_code == 1
    assert "TAMPERED" in result.output and finding in result.output


def test_a_consistently_rewritten_chain_is_caught_by_the_signed_checkpoint(logged):
    from civicmoments.domain.audit import GENESIS, link

    db, verify = logged
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT seq, body FROM access_log ORDER BY seq").fetchall()
        prev = GENESIS
        for seq, body in rows:
            data = json.loads(body)
            if seq == 2:
                data["recipient"] = "someone-else"
            h = link(prev, data)
            conn.execute("UPDATE access_log SET prev = ?, hash = ?, body = ? WHERE seq = ?",
                         (prev, h, json.dumps(data), seq))
            prev = h
    result = verify()
    assert result.exit_code == 1 and "does not match the signed checkpoint" in result.output
