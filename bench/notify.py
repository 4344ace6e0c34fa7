"""The notifications benchmark: render, queue and deliver N emails to a local SMTP server.

    python bench/notify.py --messages N [--db sqlite|postgres] [--batch 125] [--senders 2]
                           [--smtp-server auto] [--quick] --json OUT.json

The SMTP server, discarding what it accepts, runs as its own process: Postfix's ``smtp-sink``
(a C test server made for this, from the ``postfix`` package; ``make bench`` installs it where it
can) when it is installed, else aiosmtpd's Sink (Python, which costs more CPU per message than
the platform's side and so takes most of the second core); the figures say which. The platform works as a pipeline, as production runs it: this process queues batches of
notify effects (rendering each message in the person's language, encrypting it and storing it
once per key), as an engine worker does, while ``--senders`` processes of ``civic worker --role
sender`` claim what is due and send it, each sending thread reusing its SMTP connection
(``--senders 0``: the messenger sends on a thread of this process, as ``civic worker`` alone
does). A batch is queued whenever at most one batch per sender is still to go, so each sender
always has the next batch ready and nothing waits long. A message counts as delivered when the
SMTP server has accepted it.

Writes messages_per_s (from the first queued to the last delivered), p50/p95 delivery in
ms (queued to delivered, from the stored timestamps), the CPU time per message of this
process and of the SMTP server (steadier than speeds on a shared machine: the server's is
the floor this benchmark cannot go below; ours includes the senders'), senders, smtp_server
(which one, with its version), peak_rss_mb, and GOV.UK Notify's published commitment (95% of
emails sent within 10 s) beside ours for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from civicmoments.adapters.store.schema import message_preferences, messages, people
from civicmoments.bootstrap import build
from civicmoments.domain.clock import SystemClock
from civicmoments.domain.ids import uuid7
from civicmoments.engine.ports import Effect
from civicmoments.settings import Settings
from common import (
    KEY_SETTINGS,
    add_quick,
    apply_quick,
    civic_env,
    emit,
    free_port,
    fresh_database,
    process_cpu_s,
    say,
    start_workers,
    stop,
)

JOBS = [{"title": "welder", "employer": "Crown Works", "town": "Leeds", "miles": 2.5, "wage_pence": 2_800_000,
         "why": "direct match: shares welding, metal with your experience; 2.5 miles away"}] * 5
NOTIFY_COMMITMENT = {"share": 0.95, "within_ms": 10_000, "source": "GOV.UK Notify service level, emails and texts"}


SMTP_SINK = Path("/usr/sbin/smtp-sink")


def smtp_command(port: int, server: str) -> tuple[list[str], str]:
    """The command line of the local SMTP server that accepts and discards every message, and its
    name for the figures. ``server``: "smtp-sink" (Postfix's test server, in C, made for this), "aiosmtpd"
    (its Sink handler, in Python), or "auto" (smtp-sink where installed, else aiosmtpd)."""
    if server == "auto":
        server = "smtp-sink" if os.access(SMTP_SINK, os.X_OK) else "aiosmtpd"
    if server == "smtp-sink":
        if not os.access(SMTP_SINK, os.X_OK):
            raise SystemExit(f"{SMTP_SINK} is missing: apt-get install postfix, or --smtp-server aiosmtpd")
        as_user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
        return [str(SMTP_SINK), *as_user, f"127.0.0.1:{port}", "1000"], f"postfix smtp-sink {_postfix_version()}"
    from importlib.metadata import version

    return ([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
            f"aiosmtpd {version('aiosmtpd')} Sink")


def _postfix_version() -> str:
    try:
        return subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def start_smtp(command: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the SMTP server did not start: {proc.stderr.read().decode()[-500:]}")


def load_people(app, n: int) -> list[str]:
    """n people with a name and an email address, who prefer email; half write in Welsh."""
    store, now = app.registry.store, datetime.now(timezone.utc)
    ids = [uuid7() for _ in range(n)]
    for lo in range(0, n, 5000):
        chunk = ids[lo:lo + 5000]
        rows, prefs = [], []
        for i, pid in enumerate(chunk, start=lo):
            for attr, value in (("given_name", f"Person{i}"), ("family_name", "Jones"),
                                ("email", f"person{i}@example.org")):
                rows.append({"person_id": pid, "attribute": attr, "value": value, "source": "bench",
                             "basis": "register", "tier": "gold", "observed_at": now, "valid_from": now,
                             "recorded_at": now})
            prefs.append({"person_id": pid, "updated_at": now,
                          "preferences": {"channels": ["email"], "language": "cy" if i % 2 else "en"}})
        with store.engine.begin() as conn:
            store.bulk.insert(conn, people, [{"id": p, "created_at": now, "merged_into": None} for p in chunk])
            store.insert_facts(conn, rows)
            store.bulk.insert(conn, message_preferences, prefs)
    return ids


def effect(pid: str, n: int) -> Effect:
    return Effect(key=f"bench-{n}:notice", journey=None, person=pid, step="notice", kind="notify",
                  payload={"spec": {"template": "notice-of-assistance"},
                           "personalisation": {"values": {"eligible": n % 3 != 0, "awarded": True, "weekly_amount": 95.55,
                                                          "jobs": JOBS, "undecided": False, "answer_within_days": 14,
                                                          "universal_credit": n % 5 == 0,
                                                          "universal_credit_monthly": 424.90,
                                                          "first_payment_pence": 19110,
                                                          "first_payment_date": "2026-12-07",
                                                          "account_last4": "9911"}}},
                  max_attempts=5, backoff_seconds=2.0, id=n, attempts=1)


def own_cpu_s() -> float:
    """This process's CPU time (user and system), in seconds; its children are counted apart."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--batch", type=int, default=125,
                    help="notify effects queued at a time, and messages a sender claims at a time")
    ap.add_argument("--senders", type=int, default=2,
                    help="processes of `civic worker --role sender`; 0 sends on a thread of this process")
    ap.add_argument("--connections", type=int, default=4, help="SMTP connections kept open by each sender")
    ap.add_argument("--smtp-server", choices=["auto", "smtp-sink", "aiosmtpd"], default="auto",
                    help="the local SMTP server: Postfix's smtp-sink where installed (auto), or aiosmtpd")
    ap.add_argument("--json", type=Path, default=None)
    add_quick(ap, messages=300, batch=100)
    args = ap.parse_args()
    apply_quick(args, args.json)
    if args.messages < 1:
        ap.error("--messages must be at least 1")
    if args.senders < 0:
        ap.error("--senders must be 0 or more")
    port = free_port()
    command, server_name = smtp_command(port, args.smtp_server)
    smtp = start_smtp(command, port)
    senders: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp, fresh_database(args.db, Path(tmp), "notify") as url:
            provider = {"name": "local-smtp", "url": f"smtp://127.0.0.1:{port}", "sender": "help@civic.example",
                        "connections": args.connections}
            settings = Settings(database_url=url, data_dir=Path(tmp), email_providers=[provider],
                                message_batch_size=args.batch, log_level="WARNING", **KEY_SETTINGS)
            from civicmoments import logs

            logs.configure("WARNING", True)
            app = build(settings, clock=SystemClock())
            say(f"loading {args.messages:,} people ...")
            ids = load_people(app, args.messages)
            if args.senders:
                say(f"starting {args.senders} sending worker(s) ...")
                senders = start_workers(civic_env(url, data_dir=tmp, email_providers=[provider],
                                                  message_batch_size=args.batch), args.senders, role="sender")
            say(f"rendering, queueing and sending {args.messages:,} emails to 127.0.0.1:{port} ...")
            finished = threading.Event()
            sender = None
            if not senders:
                sender = threading.Thread(target=app.worker.send_loop, args=(finished.is_set,), name="messenger",
                                          daemon=True)
            ahead = args.batch * max(1, args.senders)  # unsent messages kept waiting: a batch per sender

            def unsettled() -> int:  # queued or being sent: a settled message's next_at is cleared
                with app.store.reader.connect() as conn:
                    return conn.execute(select(func.count()).select_from(messages)
                                        .where(messages.c.next_at.is_not(None))).scalar_one()

            cpu0, smtp_cpu0 = own_cpu_s(), process_cpu_s(smtp.pid)
            senders_cpu0 = sum(process_cpu_s(p.pid) for p in senders)
            started = time.perf_counter()
            if sender is not None:
                sender.start()
            queued = 0
            next_report = started + 2
            try:
                while True:
                    left = unsettled()
                    if queued < len(ids) and left <= ahead:
                        batch = [effect(pid, queued + i) for i, pid in enumerate(ids[queued:queued + args.batch])]
                        results = app.messenger.perform(batch)
                        assert all(r.verdict.value == "done" for r in results), results[0]
                        queued += len(batch)
                    elif queued >= len(ids) and left <= 0:
                        break
                    else:
                        time.sleep(0.005)
                    if time.perf_counter() > next_report:
                        say(f"  queued {queued:,}/{len(ids):,}, {queued - left:,} settled")
                        next_report += 2
                    if any(p.poll() is not None for p in senders):
                        raise SystemExit("a sending worker ended before the messages were sent")
                total = time.perf_counter() - started
            finally:
                finished.set()
                if sender is not None:
                    app.messenger.queued.set()
                    sender.join()
                senders_cpu = sum(process_cpu_s(p.pid) for p in senders if p.poll() is None) - senders_cpu0
                for p in senders:  # before their database goes
                    stop(p)
            cpu, smtp_cpu = own_cpu_s() - cpu0 + senders_cpu, process_cpu_s(smtp.pid) - smtp_cpu0
            with app.store.engine.connect() as conn:
                rows = conn.execute(select(messages.c.status, messages.c.created_at, messages.c.updated_at)).all()
            delivered = sorted((r.updated_at - r.created_at).total_seconds() * 1000 for r in rows
                               if r.status == "delivered")
            if len(delivered) != args.messages:
                raise SystemExit(f"only {len(delivered)} of {args.messages} messages were delivered")

            def pct(p: float) -> float:
                return round(delivered[min(len(delivered) - 1, int(p * len(delivered)))], 1)

            within_1s = sum(1 for d in delivered if d <= 1000) / len(delivered)
            emit({"benchmark": "notify", "db": args.db, "messages": args.messages, "batch": args.batch,
                  "senders": args.senders, "smtp_connections": args.connections, "total_s": round(total, 2),
                  "messages_per_s": round(args.messages / total, 1), "p50_delivery_ms": pct(0.50),
                  "p95_delivery_ms": pct(0.95), "max_delivery_ms": round(delivered[-1], 1),
                  "share_within_1s": round(within_1s, 4),
                  "cpu_ms_per_message": round(1000 * cpu / args.messages, 3),
                  "senders_cpu_ms_per_message": round(1000 * senders_cpu / args.messages, 3),
                  "smtp_server": server_name,
                  "smtp_server_cpu_ms_per_message": round(1000 * smtp_cpu / args.messages, 3),
                  "target": {"messages_per_s": 2000, "p95_delivery_ms": 1000},
                  "peer": NOTIFY_COMMITMENT}, args.json, quick=args.quick)
    finally:
        for p in senders:
            stop(p)
        stop(smtp)


if __name__ == "__main__":
    main()
