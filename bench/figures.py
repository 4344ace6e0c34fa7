"""The README's table of figures, made from ``bench/results/*.json`` and nothing else.

    python bench/figures.py            # print the table (Markdown)
    python bench/figures.py --write    # put it in README.md between the figure markers
    python bench/figures.py --check    # exit 1 if README.md's table is not the one the files make

``make bench`` ends with ``--write``, so the table always says what the last full runs
measured; a test runs ``--check``, so a hand edit or a forgotten rewrite fails. Each row
names its file, the size of the run, the figure, the target from the performance issue and
whether the figure meets it. A figure a file does not hold reads "not measured".
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
START = "<!-- figures: made by bench/figures.py from bench/results; do not edit by hand -->"
END = "<!-- /figures -->"


@dataclass(frozen=True)
class Figure:
    """One row: ``key`` is a dotted path into the file; ``target`` is compared with ``op``
    ("<=" for times, ">=" for rates); ``scale`` turns the stored unit into the shown one."""
    file: str
    what: str
    size_key: str
    key: str
    unit: str
    op: str
    target: float
    scale: float = 1.0


FIGURES = [
    Figure("engine-sqlite", "Engine, SQLite: events end to end", "events", "events_per_s", "events/s", ">=", 10_000),
    Figure("engine-sqlite", "Engine, SQLite: share of the batched-insert floor", "events", "share_of_floor", "%",
           ">=", 50, 100),
    Figure("engine-postgres", "Engine, PostgreSQL, 2 workers", "events", "events_per_s", "events/s", ">=", 5_000),
    Figure("layoff-sqlite", "One layoff report: first person told", "people", "first_time_to_notice_ms", "s",
           "<=", 2, 0.001),
    Figure("layoff-sqlite", "One layoff report: median time to notice", "people", "p50_time_to_notice_ms", "s",
           "<=", 5, 0.001),
    Figure("layoff-sqlite", "One layoff report: last notice", "people", "total_s", "s", "<=", 30),
    Figure("registry-sqlite", "Profile projection", "people", "profile_build_s", "s", "<=", 20),
    Figure("registry-sqlite", "Privacy gate checks, each logged", "people", "gate_checks_per_s", "checks/s",
           ">=", 100_000),
    Figure("sweep", "Eligibility sweep", "people", "sweep_s", "s", "<=", 10),
    Figure("notify-sqlite", "Emails to a local SMTP server", "messages", "messages_per_s", "messages/s",
           ">=", 2_000),
    Figure("notify-sqlite", "Emails: 95th percentile to delivery", "messages", "p95_delivery_ms", "ms", "<=", 1_000),
    Figure("portal-sqlite", "Portal pages at 200 requests/s, 99th percentile", "people", "p99_ms", "ms", "<=", 100),
    Figure("cases-sqlite", "Staff queue page at 50 requests/s, 99th percentile", "cases", "queue_p99_ms", "ms",
           "<=", 100),
    Figure("cases-sqlite", "Staff single view at 50 requests/s, 99th percentile", "cases", "single_view_p99_ms",
           "ms", "<=", 100),
    Figure("cases-sqlite", "A 10,000-person layoff opening its cases", "layoff_cases", "layoff_open_s", "s",
           "<=", 5),
    Figure("insights-sqlite", "Every measure of one moment, SQLite", "journeys", "report_s", "s", "<=", 2),
    Figure("insights-postgres", "Every measure of one moment, PostgreSQL", "journeys", "report_s", "s", "<=", 2),
    Figure("lifetime-sqlite", "Daily lifetime sweep from the database", "people", "sweep_s", "s", "<=", 60),
    Figure("payments-sqlite", "Payment run to ISO 20022 files", "awards", "run_s", "s", "<=", 60),
    Figure("payments-sqlite", "Payment run: peak memory", "awards", "peak_rss_mb", "MB", "<=", 1_000),
]


def _get(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:,.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def rows(results: Path = RESULTS) -> list[list[str]]:
    """The table's rows: what, size, figure, target, met, measured (date)."""
    out = []
    cache: dict[str, dict[str, Any] | None] = {}
    for f in FIGURES:
        if f.file not in cache:
            path = results / f"{f.file}.json"
            cache[f.file] = json.loads(path.read_text()) if path.exists() else None
        data = cache[f.file] or {}
        value = _get(data, f.key)
        size = _get(data, f.size_key)
        target = f"{'≥' if f.op == '>=' else '≤'} {_number(f.target)} {f.unit}"
        if not isinstance(value, (int, float)):
            out.append([f.what, _number(size) if isinstance(size, (int, float)) else "", "not measured", target,
                        "no", f"`{f.file}.json`"])
            continue
        shown = value * f.scale
        met = {"<=": operator.le, ">=": operator.ge}[f.op](shown, f.target)
        when = str(data.get("measured_at", ""))[:10]
        out.append([f.what, _number(size) if isinstance(size, (int, float)) else "",
                    f"{_number(shown)} {f.unit}", target, "yes" if met else "no", f"`{f.file}.json` {when}"])
    return out


def table(results: Path = RESULTS) -> str:
    head = ["What", "Size", "Figure", "Target", "Met", "File, measured"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(results)]
    return "\n".join(lines)


def block(results: Path = RESULTS) -> str:
    return f"{START}\n{table(results)}\n{END}"


def readme_block(text: str) -> str | None:
    if START not in text or END not in text:
        return None
    return text[text.index(START):text.index(END) + len(END)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the table in README.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if README.md's table is out of date")
    ap.add_argument("--readme", type=Path, default=README)
    args = ap.parse_args(argv)
    if not (args.write or args.check):
        print(table())
        return 0
    text = args.readme.read_text()
    current = readme_block(text)
    if current is None:
        print(f"{args.readme}: no figures block ({START} … {END})", file=sys.stderr)
        return 1
    if args.check:
        if current != block():
            print(f"{args.readme}: the table of figures is not the one bench/results makes; "
                  "run `python bench/figures.py --write`", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(text.replace(current, block()))
    print(f"wrote the table of figures in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
