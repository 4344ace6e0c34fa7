"""The digital-lifetime benchmark: the daily sweep of a population read from the database,
starting every journey that falls due.

    python bench/lifetime.py --people N [--quick] --json OUT.json

Synthetic people (a date of birth spread over 95 years, a nation, an email address) are
loaded into a fresh SQLite registry, a quarter of them in households of a parent and
children; loading is set-up, reported as ``load_s``, and so is yesterday's sweep
(``first_sweep_s``: everyone's eligibility found for the first time, its events taken as
handled), so that today's is the daily one. Then, timed as ``sweep_s``, the sweep
reads everyone from the database a batch at a time (``input_batches``: the kept profiles, not
arrays in memory), finds each milestone crossed today and each change in eligibility, and
puts the events in the inbox; ``dispatch_s`` is the dispatcher turning those events into
journeys (the growing-up offers, the vaccinations), batch by batch, in its transactions.
``total_s`` is the two together, the figure the target (under 60 s for 1,000,000 people)
is about. Messages and other effects stay in the outbox: sending them is the notify
benchmark's work.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select, update

from civicmoments.adapters.store.schema import household_members, inbox, journeys, people
from civicmoments.adapters.store.sql import EventStatus
from civicmoments.bootstrap import build
from civicmoments.domain.clock import FakeClock
from civicmoments.domain.ids import uuid7
from civicmoments.engine.sweep import Sweeper
from civicmoments.settings import Settings
from common import KEY_SETTINGS, add_quick, apply_quick, emit, fresh_database, say

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 30)  # the demo's day
# A few people at the start are due today whatever the population's size, so a quick run starts
# journeys too: a baby of 8 weeks (in the first household), a 16-year-old in England, a
# 14-year-old in Wales (both may register to vote).
DUE = {1: (DAY - timedelta(days=56), None), 4: (date(2010, 11, 30), "england"), 5: (date(2012, 11, 30), "wales")}
NATIONS = ["england"] * 84 + ["wales"] * 5 + ["scotland"] * 8 + ["northern-ireland"] * 3  # roughly by population


def load(app, n: int, batch: int) -> None:
    """n people; every fourth person from the start of a batch heads a household with the next three as children."""
    rnd = random.Random(18)
    store, now = app.registry.store, datetime(2026, 1, 1, tzinfo=timezone.utc)
    span = (DAY - date(1931, 1, 1)).days
    for lo in range(0, n, batch):
        chunk = [uuid7() for _ in range(min(batch, n - lo))]
        rows, members = [], []
        for j, pid in enumerate(chunk):
            if j % 16 < 4:  # a quarter in households: a parent and three children under 16
                born = DAY - timedelta(days=rnd.randint(20 * 365, 45 * 365) if j % 4 == 0 else rnd.randint(0, 16 * 365))
                members.append({"household_id": f"h{lo + j - j % 4}", "person_id": pid,
                                "role": "parent" if j % 4 == 0 else "child", "since": now})
            else:
                born = DAY - timedelta(days=rnd.randint(0, span))
            nation = rnd.choice(NATIONS)
            if lo == 0 and j in DUE:
                born, nation = DUE[j][0], DUE[j][1] or nation
            for attr, value in (("date_of_birth", born.isoformat()), ("nation", nation),
                                ("email", f"p{lo + j}@example.org")):
                rows.append({"person_id": pid, "attribute": attr, "value": value, "source": "bench",
                             "basis": "register", "tier": "gold", "observed_at": now, "valid_from": now,
                             "recorded_at": now})
        with store.engine.begin() as conn:
            store.bulk.insert(conn, people, [{"id": p, "created_at": now, "merged_into": None} for p in chunk])
            store.insert_facts(conn, rows)
            if members:
                store.bulk.insert(conn, household_members, members)
        if (lo // batch) % 10 == 0:
            say(f"  loaded {lo + len(chunk):,}/{n:,} people")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000, help="people per sweep batch")
    parser.add_argument("--json", dest="out", type=Path)
    add_quick(parser, people=400, batch=200)
    args = parser.parse_args()
    apply_quick(args, args.out)
    if args.people < 1 or args.batch < 1:
        parser.error("--people and --batch must be positive")
    with tempfile.TemporaryDirectory(prefix="civic-lifetime-") as tmp, \
            fresh_database("sqlite", Path(tmp), "lifetime") as url:
        clock = FakeClock(datetime(DAY.year, DAY.month, DAY.day, 6, tzinfo=timezone.utc))
        app = build(Settings(database_url=url, pack_dir=ROOT / "packs" / "uk", log_level="WARNING",
                             data_dir=Path(tmp), batch_size=1000, **KEY_SETTINGS), clock=clock)
        say(f"loading {args.people:,} people on sqlite (set-up, not timed)")
        t = time.perf_counter()
        load(app, args.people, 20_000)
        load_s = time.perf_counter() - t

        sweeper = Sweeper(app.rules, app.services.catalogue, app.registry.store, app.store)
        say(f"yesterday's sweep (set-up, not timed): everyone's eligibility as it stood on {DAY - timedelta(days=1)}")
        t = time.perf_counter()
        sweeper.run(DAY - timedelta(days=1), batch=args.batch)
        with app.store.engine.begin() as conn:  # yesterday's events were handled yesterday
            conn.execute(update(inbox).values(status=EventStatus.PROCESSED))
        setup_sweep_s = time.perf_counter() - t

        say(f"sweeping {DAY} from the database, {args.batch:,} people a batch")
        t = time.perf_counter()
        emitted = sweeper.run(DAY, batch=args.batch)
        sweep_s = time.perf_counter() - t

        say(f"starting the journeys of {emitted['milestones'] + emitted['eligibility']:,} events")
        t = time.perf_counter()
        while app.store.dispatch(1000, app.dispatcher.handle):
            pass
        dispatch_s = time.perf_counter() - t
        with app.store.reader.connect() as conn:
            started = Counter(dict(conn.execute(select(journeys.c.moment, func.count())
                                                .group_by(journeys.c.moment)).all()))
        again = sweeper.run(DAY, batch=args.batch)  # the same day again: nothing new

    total = sweep_s + dispatch_s
    emit({
        "db": "sqlite",
        "people": args.people,
        "day": DAY.isoformat(),
        "milestones_found": emitted["milestones"],
        "eligibility_changes": emitted["eligibility"],
        "journeys_started": sum(started.values()),
        "journeys_by_moment": dict(sorted(started.items())),
        "second_sweep_events": again["milestones"] + again["eligibility"],
        "load_s": round(load_s, 1),
        "first_sweep_s": round(setup_sweep_s, 1),
        "sweep_s": round(sweep_s, 2),
        "dispatch_s": round(dispatch_s, 2),
        "total_s": round(total, 2),
        "people_per_s": round(args.people / total),
        "target": "a daily sweep of 1,000,000 people from the database, every due journey started, in under 60 s",
    }, args.out, quick=args.quick)


if __name__ == "__main__":
    main()
