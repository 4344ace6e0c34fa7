"""The daily sweep split in parts: any process may take a part, and no part is done twice.

The leases on SQLite and PostgreSQL; then three real `civic sweep --parts 8` processes at once on
one PostgreSQL database, which between them sweep everyone exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest

from civicmoments.adapters.store.partitions import PartitionLeases, part_of

from ..conftest import UK_PACK, make_app
from .test_crash_and_concurrency import worker_env


def test_a_part_is_leased_to_one_holder_done_once_and_taken_again_only_when_its_lease_ran_out(db_url, clock):
    app = make_app(db_url, clock)
    leases = PartitionLeases(app.store.engine)
    job = "sweep:2025-11-21"
    assert leases.take(job, 3, "a", clock.now(), 60) == 0
    assert leases.take(job, 3, "b", clock.now(), 60) == 1
    assert leases.take(job, 3, "a", clock.now(), 60) == 2
    assert leases.take(job, 3, "c", clock.now(), 60) is None  # every part leased
    assert leases.done(job, 0, "a", clock.now(), {"people": 5})
    assert not leases.done(job, 0, "a", clock.now()), "a part is done once"
    assert not leases.done(job, 1, "a", clock.now()), "only its holder marks it done"
    clock.advance(timedelta(seconds=61))  # b and a died holding parts 1 and 2
    assert leases.take(job, 3, "c", clock.now(), 60) == 1
    assert not leases.done(job, 1, "b", clock.now()), "the late holder learns the part was taken again"
    assert leases.done(job, 1, "c", clock.now())
    assert leases.take(job, 3, "c", clock.now(), 60) == 2
    assert leases.done(job, 2, "c", clock.now())
    assert leases.take(job, 3, "d", clock.now(), 60) is None  # all done: nothing is taken again
    parts = leases.parts(job)
    assert [(p["part"], p["status"], p["holder"], p["attempts"]) for p in parts] == [
        (0, "done", "a", 1), (1, "done", "c", 2), (2, "done", "c", 2)]
    assert parts[0]["result"] == {"people": 5}
    assert leases.take("sweep:2025-11-22", 3, "a", clock.now(), 60) == 0, "another day is another job"
    app.store.close()


def test_parts_cover_every_id_once():
    ids = [f"person-{i}" for i in range(1000)]
    counts = [sum(part_of(i, 8) == k for i in ids) for k in range(8)]
    assert sum(counts) == 1000 and min(counts) > 60  # each id in exactly one part, the parts near even


@pytest.mark.slow
def test_three_processes_sweep_everyone_once_between_them(pg_url, clock):
    app = make_app(pg_url, clock)
    hmrc, _ = app.organisations.add("HMRC", ["h"], ["facts:*"])
    families = 12
    for _ in range(families):  # as in the sweep's own test: a parent with two children, and a teenager
        parent = app.registry.add_person()
        app.registry.record(hmrc, parent, [{"attribute": "date_of_birth", "value": "1990-05-01"},
                                           {"attribute": "employment_status", "value": "unemployed"},
                                           {"attribute": "class1_earnings_last_year_pence", "value": 2_800_000},
                                           {"attribute": "class1_earnings_year_before_pence", "value": 2_650_000}])
        home = app.registry.join_household(None, parent, "adult")
        for dob in ("2015-05-01", "2025-03-01"):
            kid = app.registry.add_person()
            app.registry.record(hmrc, kid, [{"attribute": "date_of_birth", "value": dob}])
            app.registry.join_household(home, kid, "child")
        teen = app.registry.add_person()
        app.registry.record(hmrc, teen, [{"attribute": "date_of_birth", "value": "2010-02-21"}])
    env = worker_env(pg_url, CIVIC_PACK_DIR=str(UK_PACK), CIVIC_NOW="2025-11-21T09:00:00Z")
    procs = [subprocess.Popen([sys.executable, "-m", "civicmoments.cli", "sweep", "--date", "2025-11-21",
                               "--since", "2025-11-20", "--parts", "8", "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out))
    total = {k: sum(r[k] for r in results) for k in ("people", "milestones", "eligibility", "parts")}
    # every person swept once, every part done once, and what a whole sweep finds (2 milestones and
    # 3 eligibility changes a family) found once between them
    assert total == {"people": 4 * families, "milestones": 2 * families, "eligibility": 3 * families, "parts": 8}
    parts = PartitionLeases(app.store.engine).parts("sweep:2025-11-21")
    assert [(p["status"], p["attempts"]) for p in parts] == [("done", 1)] * 8
    assert sum(p["result"]["people"] for p in parts) == 4 * families
    from civicmoments.cli import run_sweep

    again = run_sweep(app, date(2025, 11, 21), date(2025, 11, 20), show_progress=False, parts=1)
    assert again == {"people": 4 * families, "milestones": 0, "eligibility": 0}, "the parts left nothing out"
    app.store.close()
