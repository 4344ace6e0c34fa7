"""The digital-lifetime sweep benchmark.

    python bench/sweep.py --people N --json OUT.json

Synthetic people (dates of birth, work and contributions) come from mimesis with a fixed
seed. ``sweep_s`` is the vectorised sweep over all of them, in batches: every milestone
and every person-level service, one OpenFisca simulation per batch, crossings and
eligibility found with array operations. ``per_person_ratio`` compares it with one
simulation per person, timed on a sample and extrapolated.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from mimesis import Datetime
from mimesis.locales import Locale

from civicmoments.engine.sweep import Sweeper
from civicmoments.packs import load_pack
from civicmoments.rules.catalogue import load_catalogue
from civicmoments.rules.openfisca import RulesEngine
from common import emit

ROOT = Path(__file__).resolve().parents[1]
UNTIL, SINCE = date(2025, 11, 23), date(2025, 11, 22)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def population(n: int, seed: int = 7) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """People, and households: consecutive people share a home, under-18s as children."""
    dt, rnd = Datetime(locale=Locale.EN_GB, seed=seed), random.Random(seed)
    births = np.array([dt.date(start=1930, end=2025) for _ in range(n)], dtype="datetime64[D]")
    households, roles, home = [], [], 0
    adult_born_before = np.datetime64("2007-11-23")
    for i in range(n):
        if i % 4 == 0:
            home += 1
        households.append(f"h{home}")
        roles.append("adult" if births[i] < adult_born_before else "child")
    return {
        "date_of_birth": births,
        "unemployed": np.array([rnd.random() < 0.05 for _ in range(n)]),
        "class1_contribution_years": np.array([rnd.choice((0, 1, 2, 2, 2)) for _ in range(n)]),
        "jsa_claim_days": np.array([rnd.choice((0, 0, 0, 30, 200)) for _ in range(n)]),
        "adjusted_net_income": np.array([rnd.uniform(0, 90_000) for _ in range(n)]),
    }, households, roles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=250_000)
    parser.add_argument("--sample", type=int, default=10_000, help="people for the one-at-a-time comparison")
    parser.add_argument("--json", dest="out", type=Path)
    args = parser.parse_args()
    if args.people < 1 or args.batch < 1 or args.sample < 1:
        parser.error("--people, --batch and --sample must be positive")
    pack = load_pack(ROOT / "packs" / "uk")
    rules = RulesEngine(pack.root)
    catalogue = load_catalogue(pack.root / "services.yaml", rules.tbs.variables, pack.attributes)
    sweeper = Sweeper(rules, catalogue, None, None)
    say(f"generating {args.people:,} people with mimesis (seed 7)")
    people, households, roles = population(args.people)
    if args.batch % 4:
        parser.error("--batch must be a multiple of 4, so households are not split")

    say(f"vectorised sweep: {len(sweeper.milestones)} milestones, {len(sweeper.eligibility)} services")
    crossings = eligible = 0
    start = time.perf_counter()
    for lo in range(0, args.people, args.batch):
        part = {k: v[lo : lo + args.batch] for k, v in people.items()}
        crossed, ok = sweeper.compute(len(part["date_of_birth"]), part, SINCE, UNTIL,
                                      households[lo : lo + args.batch], roles[lo : lo + args.batch])
        crossings += sum(int(hit.sum()) for _, hit in crossed.values())
        eligible += sum(int(v.sum()) for v in ok.values())
        say(f"  {min(lo + args.batch, args.people):,}/{args.people:,}")
    sweep_s = time.perf_counter() - start

    say(f"one simulation per person, on {args.sample:,} people")
    sample = {k: v[: args.sample] for k, v in people.items()}
    start = time.perf_counter()
    for i in range(args.sample):
        sweeper.compute(1, {k: v[i : i + 1] for k, v in sample.items()}, SINCE, UNTIL, [households[i]],
                        ["adult"])
    single_s = (time.perf_counter() - start) * args.people / args.sample

    emit({
        "people": args.people,
        "milestones": len(sweeper.milestones),
        "services": len(sweeper.eligibility),
        "crossings_found": crossings,
        "eligible_found": eligible,
        "sweep_s": round(sweep_s, 2),
        "people_per_s": round(args.people / sweep_s),
        "per_person_extrapolated_s": round(single_s, 1),
        "per_person_sample": args.sample,
        "per_person_ratio": round(single_s / sweep_s, 1),
    }, args.out)


if __name__ == "__main__":
    main()
