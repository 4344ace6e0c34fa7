"""The payment run: awards from grants, due payments into valid pain.001 files, nothing paid twice.

The crash test runs ``civic payments run`` as a real process that SIGKILLs itself (a fault injected by
``CIVIC_PAYMENTS_FAULT_AFTER``) once N payments are committed to a file not yet written, runs it again,
and finds every due payment in exactly one valid file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from civicmoments.adapters.payments import pain001
from civicmoments.domain.clock import FakeClock
from civicmoments.engine.payments import AlreadyRunError
from tests.conftest import TEST_KEYS, UK_PACK, make_app
from tests.people import known

ACCOUNT = "20-00-00 55779911"  # passes the modulus check (Barclays range)


def people(app, n: int, born="1980-01-01", account=ACCOUNT) -> list[str]:
    return [known(app, date_of_birth=born, **({"bank_account": account} if account else {})) for _ in range(n)]


def files_in(folder: Path) -> dict[str, list[dict]]:
    return {f.name: pain001.read(f) for f in sorted(folder.glob("*.xml"))}


@pytest.fixture
def world(tmp_path, db_url):
    app = make_app(db_url, FakeClock(), settings={"payments_dir": tmp_path / "out"})
    yield app
    app.store.close()


def test_a_grant_of_jsa_makes_an_award_with_its_schedule_and_the_run_pays_it_once(world):
    app = world
    (p,) = people(app, 1)
    award = app.payments.award(p, "jsa-new-style", "j1/award", start=date(2026, 4, 6))
    assert award["end_on"] == date(2026, 10, 4) and award["hold"] is None
    assert app.payments.award(p, "jsa-new-style", "j1/award", start=date(2026, 4, 6))["id"] == award["id"]
    pays = app.payments.store.payments_of(award=award["id"])
    assert len(pays) == 13 and pays[0]["amount"] == 19110 and pays[0]["pay_on"] == date(2026, 4, 20)

    run = app.payments.run(date(2026, 4, 20))
    assert (run["payments"], run["total"]) == (1, 19110)
    (name, txs), = files_in(app.payments.folder).items()
    assert txs[0]["amount"] == 19110 and (txs[0]["sort_code"], txs[0]["account"]) == ("200000", "55779911")
    assert app.payments.store.payments_of(award=award["id"])[0]["status"] == "sent"
    assert app.payments.store.payments_of(award=award["id"])[0]["account_last4"] == "9911"
    with pytest.raises(AlreadyRunError, match="already been done: 1 payments"):
        app.payments.run(date(2026, 4, 20))
    assert app.payments.run(date(2026, 5, 4))["payments"] == 1  # the next fortnight, in its own run
    assert len(files_in(app.payments.folder)) == 2
    logged = [e for e in app.registry.store.log_for(p) if e.get("channel") == "payment-file"]
    assert len(logged) == 2 and all(e["attributes"] == ["bank_account"] for e in logged)


def test_an_award_with_no_account_or_a_bad_one_is_held_not_sent(world):
    app = world
    (none,) = people(app, 1, account=None)
    (bad,) = people(app, 1, account="20-00-00 12345678")
    a = app.payments.award(none, "jsa-new-style", "k1", start=date(2026, 4, 6))
    assert a["hold"] == "no-account"
    app.payments.award(bad, "jsa-new-style", "k2", start=date(2026, 4, 6))
    run = app.payments.run(date(2026, 4, 20))
    assert run["payments"] == 0 and not files_in(app.payments.folder)
    held = {p["person_id"]: p["held_reason"] for p in app.payments.store.payments_of(person=none)
            + app.payments.store.payments_of(person=bad) if p["status"] == "held"}
    assert held == {none: "no-account", bad: "account-invalid"}


def test_a_suspension_holds_payments_from_the_reported_day_and_an_overturn_pays_the_arrears(world):
    app = world
    (p,) = people(app, 1)
    app.payments.award(p, "jsa-new-style", "s1", start=date(2026, 4, 6))
    assert app.payments.suspend(p, "jsa-new-style", date(2026, 4, 25), "reported back in work") == 12
    assert app.payments.run(date(2026, 4, 20))["payments"] == 1  # the fortnight before the report is paid
    assert app.payments.run(date(2026, 5, 18))["payments"] == 0  # suspended, not cancelled
    assert app.payments.resume(p, "jsa-new-style") == 12
    run = app.payments.run(date(2026, 5, 19))
    assert (run["payments"], run["total"]) == (2, 2 * 19110)  # the arrears of two fortnights


def test_payments_check_lists_awards_that_run_past_the_published_rates(world):
    app = world
    (p,) = people(app, 1)
    app.payments.award(p, "jsa-new-style", "c1", start=date(2027, 1, 4))
    (found,) = app.payments.check()
    assert found["stops"] == "rates" and found["scheduled_to"] == date(2027, 3, 28)


def env_for(url: str, folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update({**TEST_KEYS, "CIVIC_DATABASE_URL": url, "CIVIC_PACK_DIR": str(UK_PACK), "CIVIC_LOG_LEVEL": "ERROR",
                "CIVIC_PAYMENTS_DIR": str(folder), "CIVIC_NOW": "2026-04-20T06:00:00Z", **extra})
    return env


def civic(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicmoments.cli", "payments", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_run_killed_after_n_committed_payments_and_run_again_pays_each_exactly_once(tmp_path, sqlite_url):
    folder = tmp_path / "out"
    app = make_app(sqlite_url, FakeClock(), settings={"payments_dir": folder})
    app.payments.file_max = 7
    persons = people(app, 30)
    for i, p in enumerate(persons):
        app.payments.award(p, "jsa-new-style", f"crash{i}", start=date(2026, 4, 6))
    pack = tmp_path / "pack"  # the same pack, with files of 7 payments so that the fault falls between files
    subprocess.run(["cp", "-r", str(UK_PACK), str(pack)], check=True)
    conf = pack / "payments" / "payments.yaml"
    conf.write_text(conf.read_text().replace("file_max_payments: 10000", "file_max_payments: 7"))
    env = env_for(sqlite_url, folder, CIVIC_PACK_DIR=str(pack))

    killed = civic({**env, "CIVIC_PAYMENTS_FAULT_AFTER": "14"}, "run", "--date", "2026-04-20")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    committed = [p for x in persons for p in app.payments.store.payments_of(person=x)
                 if p["status"] in ("batched", "sent")]
    assert len(committed) == 14  # two files' worth committed; the second file never written
    assert len(list(folder.glob("*.xml"))) == 1

    again = civic(env, "run", "--date", "2026-04-20")
    assert again.returncode == 0, again.stderr
    assert "30 payments, £5,733.00" in again.stdout
    found = files_in(folder)
    ids = [t["end_to_end"] for txs in found.values() for t in txs]
    assert len(ids) == len(set(ids)) == 30  # every due payment in exactly one valid file
    assert all(len(txs) <= 7 for txs in found.values()) and len(found) == 5
    assert not list(folder.glob(".*.part"))

    once_more = civic(env, "run", "--date", "2026-04-20")
    assert once_more.returncode == 1 and "already been done: 30 payments" in once_more.stderr
    assert len(files_in(folder)) == 5


def test_the_daily_run_is_made_by_one_of_several_servers_and_a_dead_holder_is_taken_over(world):
    """Each `civic serve` calls the daily job; the lease lets one pay, and after a holder dies
    (its lease runs out) the next caller finishes the run, paying nothing twice."""
    from civicmoments.adapters.store.partitions import PartitionLeases
    from civicmoments.cli.payments import daily

    app = world
    (p,) = people(app, 1)
    app.payments.award(p, "jsa-new-style", "d1", start=date(2026, 4, 6))
    day = date(2026, 4, 20)
    leases = PartitionLeases(app.store.engine)
    # another server took today's run and died before finishing
    assert leases.take(f"payments:{day}", 1, "elsewhere:1", app.clock.now(), 60) == 0
    assert daily(app, day) is False  # its lease still holds: this server leaves the run alone
    assert not files_in(app.payments.folder)
    app.clock.advance(timedelta(seconds=61))
    assert daily(app, day) is True  # the lease ran out: this server makes the run
    assert daily(app, day) is False  # and no server makes it again
    (txs,) = files_in(app.payments.folder).values()
    assert [t["amount"] for t in txs] == [19110]
    (part,) = leases.parts(f"payments:{day}")
    assert part["status"] == "done" and part["attempts"] == 2
