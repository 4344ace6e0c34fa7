"""The digital-lifetime sweep benchmark.

    python bench/sweep.py --people N [--quick] --json OUT.json

Synthetic people (dates of birth, work, earnings and contributions) come from numpy's
random generator with a fixed seed, one column per OpenFisca input of the UK pack; a pack
whose inputs differ from the columns generated stops the benchmark with the names.
``sweep_s`` is the vectorised sweep over all of them, in batches: every milestone and
every person-level service, one OpenFisca simulation per batch, crossings and
eligibility found with array operations. ``per_person_ratio`` compares it with one
simulation per person, timed on a sample and extrapolated.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np

from civicmoments.engine.sweep import Sweeper
from civicmoments.packs import load_pack
from civicmoments.rules.catalogue import load_catalogue
from civicmoments.rules.openfisca import RulesEngine
from common import add_quick, apply_quick, emit, say

ROOT = Path(__file__).resolve().parents[1]
UNTIL, SINCE = date(2025, 11, 23), date(2025, 11, 22)


def population(start: int, n: int, seed: int = 7) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """People ``start`` to ``start + n``, the same for the same arguments, and their
    households: consecutive people share a home (``start`` a multiple of 4), under-18s as
    children. Earnings are in pounds a tax year, as the OpenFisca inputs take them. One batch
    at a time, so memory stays within a batch however many people are swept."""
    rng = np.random.default_rng([seed, start])
    first, last = np.datetime64("1930-01-01"), np.datetime64("2025-12-31")
    births = first + rng.integers(0, (last - first).astype(int) + 1, n).astype("timedelta64[D]")

    def earnings() -> np.ndarray:  # one person in seven earned nothing on which Class 1 was paid
        return np.where(rng.random(n) < 1 / 7, 0.0, rng.uniform(3_000, 60_000, n).round(2))

    households = [f"h{i // 4 + 1}" for i in range(start, start + n)]
    roles = np.where(births < np.datetime64("2007-11-23"), "adult", "child").tolist()
    return {
        "date_of_birth": births,
        "unemployed": rng.random(n) < 0.05,
        "class1_earnings_last_year": earnings(),
        "class1_earnings_year_before": earnings(),
        "class1_credited_years": rng.choice([0, 0, 0, 1, 2], n),
        "jsa_claim_days": rng.choice([0, 0, 0, 30, 200], n),
        "adjusted_net_income": rng.uniform(0, 90_000, n).round(2),
        "female": rng.random(n) < 0.5,  # read for State Pension age only by those born before 6 December 1953
        "savings": np.where(rng.random(n) < 0.3, rng.uniform(0, 40_000, n).round(2), 0.0),  # pounds
        "lives_in_wales": rng.random(n) < 0.05,
        "lives_in_scotland": rng.random(n) < 0.08,
        "partner_died_on": np.where(rng.random(n) < 0.002, np.datetime64("2026-06-01"),
                                    np.datetime64("1970-01-01")).astype("datetime64[D]"),
        "late_partner_contributed": rng.random(n) < 0.9,
        "address_confidential": rng.random(n) < 0.001,
    }, households, roles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=250_000)
    parser.add_argument("--sample", type=int, default=10_000, help="people for the one-at-a-time comparison")
    parser.add_argument("--json", dest="out", type=Path)
    add_quick(parser, people=400, batch=200, sample=20)
    args = parser.parse_args()
    apply_quick(args, args.out)
    if args.people < 1 or args.batch < 1 or args.sample < 1:
        parser.error("--people, --batch and --sample must be positive")
    args.sample = min(args.sample, args.people)
    pack = load_pack(ROOT / "packs" / "uk")
    rules = RulesEngine(pack.root)
    catalogue = load_catalogue(pack.root / "services.yaml", rules.tbs.variables, pack.attributes)
    sweeper = Sweeper(rules, catalogue, None, None)
    if args.batch % 4:
        parser.error("--batch must be a multiple of 4, so households are not split")
    columns = set(population(0, 1)[0])
    if columns != set(rules.inputs):
        raise SystemExit(f"the pack's OpenFisca inputs are {sorted(rules.inputs)}; the benchmark generates "
                         f"{sorted(columns)}: generate a column for each input in population()")

    say(f"vectorised sweep of {args.people:,} people (generated a batch at a time, seed 7, not timed): "
        f"{len(sweeper.milestones)} milestones, {len(sweeper.eligibility)} services")
    crossings = eligible = 0
    sweep_s = 0.0
    for lo in range(0, args.people, args.batch):
        part, households, roles = population(lo, min(args.batch, args.people - lo))
        start = time.perf_counter()
        crossed, ok = sweeper.compute(len(households), part, SINCE, UNTIL, households, roles)
        crossings += sum(int(hit.sum()) for _, hit in crossed.values())
        eligible += sum(int(v.sum()) for v in ok.values())
        sweep_s += time.perf_counter() - start
        say(f"  {min(lo + args.batch, args.people):,}/{args.people:,}")

    say(f"one simulation per person, on {args.sample:,} people")
    sample, households, _ = population(0, args.sample)
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
    }, args.out, quick=args.quick)


if __name__ == "__main__":
    main()
