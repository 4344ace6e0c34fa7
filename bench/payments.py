"""The payment run benchmark: 1,000,000 awards on SQLite, from the due-payment query to validated files.

    python bench/payments.py --awards 1000000 --json OUT.json     (--quick: 300 awards)

Set-up (not timed): a database with N New Style JSA awards (people aged 25 or over, from 6 April
2026) and each award's first payment due on 20 April 2026, inserted in bulk; each person's account
sealed with the platform's field cipher, as the registry keeps it. Timed: ``Payments.run`` for 20 April
2026 in this process: the due-payment query in pages of 10,000, unsealing each account (AES-GCM),
the format and modulus check, the assignment of each page to a file in one transaction, writing each
pain.001.001.03 file streamed, validating it against the shipped XSD (libxml2), renaming it into the
outbox and marking its payments sent. The access-log entries of a real run (one per person paid) are
left out: the registry benchmark measures audit appends. Writes seconds (wall clock, and this process's
CPU time, which other work on the machine moves less), payments a second, files, this process's peak
memory (target: under 60 s and under 1 GB) and the load average at the start and end of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

from civicmoments.adapters import bank_holidays, modulus
from civicmoments.adapters.crypto import FieldCipher
from civicmoments.adapters.payments import pain001
from civicmoments.adapters.store.payments import PaymentStore
from civicmoments.bootstrap import build
from civicmoments.domain.bank_accounts import modulus_ok
from civicmoments.domain.clock import FakeClock
from civicmoments.domain.payments import end_to_end_id
from civicmoments.engine.payments import Payments
from civicmoments.settings import Settings
from common import KEY_SETTINGS, add_quick, apply_quick, emit, fresh_database, say

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "packs" / "uk"
DAY = date(2026, 4, 20)
RATE = "https://www.gov.uk/government/publications/benefit-and-pension-rates-2026-to-2027"


def valid_accounts(tables, want: int = 2000) -> list[str]:
    """Real-format accounts that pass the modulus check (Barclays' 20-00-00 range), found by trying."""
    out, n = [], 10000000
    while len(out) < want:
        n += 1
        acc = f"{n:08d}"
        if modulus_ok("200000", acc, tables):
            out.append(f"20-00-00 {acc}")
    return out


def seed(engine, cipher: FieldCipher, n: int, accounts: list[str]) -> dict[str, str]:
    """N awards with their first payment due on DAY, inserted with the driver's executemany (SQLite);
    each person's sealed account (person -> token)."""
    now = "2026-04-06 06:00:00.000000+00:00"
    periods = json.dumps([{"start": "2026-04-06", "end": "2026-10-04", "pence": 9555, "per": "week",
                           "source": RATE, "band": 25, "valid_from": "2026-04-06"}])
    sources = json.dumps([RATE])
    sealed = {}
    step = 50000
    a_sql = ("INSERT INTO awards (id, key, service, person_id, payee_id, frequency, start_on, end_on, periods, "
             "status, scheduled_to, schedule_stops, created_at, updated_at) "
             "VALUES (?, ?, 'jsa-new-style', ?, ?, 'fortnightly-in-arrears', '2026-04-06', '2026-10-04', ?, "
             "'active', '2026-10-04', 'end', ?, ?)")
    p_sql = ("INSERT INTO payments (award_id, person_id, period, kind, start_on, end_on, amount, due_on, pay_on, "
             "status, sources, end_to_end, status_at) VALUES (?, ?, '2026-04-06/2026-04-19', 'regular', "
             "'2026-04-06', '2026-04-19', 19110, '2026-04-20', '2026-04-20', 'scheduled', ?, ?, ?)")
    for base in range(0, n, step):
        a_rows, p_rows = [], []
        for i in range(base, min(n, base + step)):
            person, award = f"p{i:07d}", f"a{i:07d}"
            sealed[person] = cipher.encrypt(accounts[i % len(accounts)], f"{person}|bank_account")
            a_rows.append((award, f"bench:{award}", person, person, periods, now, now))
            p_rows.append((award, person, sources, end_to_end_id(award, "2026-04-06/2026-04-19", "regular"), now))
        with engine.begin() as c:
            c.exec_driver_sql(a_sql, a_rows)
            c.exec_driver_sql(p_sql, p_rows)
    return sealed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=1_000_000)
    parser.add_argument("--file-max", type=int, default=10_000, help="payments per file at most")
    parser.add_argument("--json", type=Path)
    add_quick(parser, awards=300, file_max=100)
    args = parser.parse_args()
    apply_quick(args, args.json)
    work = Path(tempfile.mkdtemp(prefix="civic-bench-payments-"))
    try:
        with fresh_database("sqlite", work, "payments") as url:
            app = build(Settings(database_url=url, pack_dir=PACK, data_dir=work, **KEY_SETTINGS),
                        FakeClock(datetime(2026, 4, 20, 6, tzinfo=timezone.utc)))
            tables = modulus.tables(PACK)
            cipher = app.registry.cipher
            say(f"seeding {args.awards:,} awards ...")
            t = time.perf_counter()
            sealed = seed(app.store.engine, cipher, args.awards, valid_accounts(tables))
            seed_s = time.perf_counter() - t

            def unseal(persons):
                return {p: cipher.decrypt(sealed[p], f"{p}|bank_account") for p in persons if p in sealed}

            conf = modulus.settings(PACK)
            folder = work / "outbox"
            pay = Payments(PaymentStore(app.store.engine, app.store.reader), app.clock, lambda: app.rules,
                           lambda: {}, app.registry, tables, bank_holidays.calendar(), folder, conf["payer"],
                           pain001.write, audit=None, file_max_payments=args.file_max, accounts=unseal)
            say("running the payment run ...")
            load_at_start = os.getloadavg()[0]
            t, cpu = time.perf_counter(), time.process_time()
            run = pay.run(DAY)
            run_s, cpu_s = time.perf_counter() - t, time.process_time() - cpu
            files = sorted(folder.glob("*.xml"))
            assert run["payments"] == args.awards, run
            assert not list(folder.glob(".*.part"))
            sample = pain001.read(files[-1])  # validates again, and reads back
            assert sample and all(tx["amount"] == 19110 for tx in sample)
            emit({"benchmark": "payments", "db": "sqlite", "awards": args.awards, "payments": run["payments"],
                  "total_pence": run["total"], "files": len(files), "file_max_payments": args.file_max,
                  "largest_file_mb": round(max(f.stat().st_size for f in files) / 1e6, 2),
                  "seed_s": round(seed_s, 1), "run_s": round(run_s, 2),
                  "run_cpu_s": round(cpu_s, 2),  # this process's CPU time: less moved by other work on the machine
                  "payments_per_s": round(run["payments"] / run_s), "target": "under 60 s, peak RSS under 1 GB",
                  "audit_entries": "not included (measured by bench/registry.py)",
                  "load_average_1m_at_start": round(load_at_start, 1),
                  "load_average_1m_at_end": round(os.getloadavg()[0], 1)}, args.json, args.quick)
            app.store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
