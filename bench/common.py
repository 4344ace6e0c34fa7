"""Shared by the benchmark and its peers: databases to run on, and how figures are printed."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import secrets
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get("CIVIC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def ephemeral_keys() -> dict[str, str]:
    """Keys for one benchmark run, as CIVIC_* variables; never stored."""
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return {"CIVIC_PSEUDONYM_KEYS": f"1:{key()}", "CIVIC_DATA_KEYS": f"1:{key()}", "CIVIC_AUDIT_SIGNING_KEY": key()}


KEYS = ephemeral_keys()
KEY_SETTINGS = {k.removeprefix("CIVIC_").lower(): v for k, v in KEYS.items()}


RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB (getrusage's ru_maxrss, KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def process_peak_rss_mb(pid: int) -> float:
    """The peak resident memory, in MB, of a running process and its direct children, added up
    (Linux's VmHWM; a server's web processes are its children). Read it before stopping them."""
    total = 0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) used so far by a running process and its direct children,
    added up (Linux's /proc/<pid>/stat; a server's web processes are its children)."""
    total = 0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
    return total / os.sysconf("SC_CLK_TCK")


def add_quick(parser, **sizes) -> None:
    """``--quick``: a few hundred items and a few seconds, our side only (no peers), to prove the
    benchmark still runs; ``sizes`` are the argument values it sets. Quick figures are not results."""
    parser.add_argument("--quick", action="store_true",
                        help="a few hundred items, our side only: checks that the benchmark runs; "
                             "its figures are not results")
    parser.set_defaults(quick_sizes=sizes)


def apply_quick(args, out: Path | None) -> None:
    """Replace the sizes with the quick ones when ``--quick`` is given; refuse, before any work,
    to write quick figures (to ``out``) over the full runs' results."""
    if args.quick:
        refuse_quick_results(out)
        for name, value in args.quick_sizes.items():
            setattr(args, name, value)


def refuse_quick_results(out: Path | None) -> None:
    if out and out.resolve().is_relative_to(RESULTS):
        raise SystemExit(f"--quick figures are not results: write them outside {RESULTS}")


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, name: str) -> Iterator[str]:
    """A new empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    db = f"bench_{name}_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    try:
        yield f"{PG_ADMIN.rpartition('/')[0]}/{db}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def emit(figures: dict, out: Path | None, quick: bool = False) -> None:
    """Print the figures and, if asked, save them as JSON, with the machine they came from and
    this process's peak memory. Quick figures never go to ``bench/results/`` (full runs only)."""
    figures = {**figures, "quick": quick, "peak_rss_mb": peak_rss_mb(),
               "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
               "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(json.dumps(figures, indent=2))
    if quick:
        refuse_quick_results(out)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc, what: str, log: Path, timeout: float = 180) -> None:
    """Wait for ``url``/healthz to answer; stop with the process's last words (the end of
    ``log``, where its stderr goes: a file, which never fills and blocks it as a pipe would)
    if it dies or is slow, killing a slow one first."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise SystemExit(f"{what} did not start within {timeout:g} s: {err}")
        time.sleep(0.2)


def civic_env(url: str, **settings: object) -> dict[str, str]:
    """The environment of a ``civic`` process started by a benchmark: this one's, less its CIVIC_*
    variables, with the run's keys, the database ``url`` and each of ``settings`` as CIVIC_<NAME>
    (lists and dicts as JSON). Logs at WARNING unless a setting says otherwise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update({**KEYS, "CIVIC_DATABASE_URL": url, "CIVIC_LOG_LEVEL": "WARNING"})
    for name, value in settings.items():
        env[f"CIVIC_{name.upper()}"] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return env


def start_workers(env: dict[str, str], n: int, role: str = "all", timeout: float = 60) -> list:
    """``n`` processes of ``civic worker --role role`` with the environment ``env`` (see
    ``civic_env``), each ready (its engine's heartbeat recorded in the database) when this
    returns; stops them all and exits with the reason if one ends or they are slow."""
    import subprocess
    import time

    from civicmoments.adapters.store.schema import engine_heartbeats

    procs = [subprocess.Popen([sys.executable, "-m", "civicmoments.cli", "worker", "--role", role], env=env,
                              cwd=Path(__file__).resolve().parents[1]) for _ in range(n)]
    engine = create_engine(env["CIVIC_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                ready = conn.execute(text(f"SELECT count(*) FROM {engine_heartbeats.name}")).scalar_one()
            if ready >= n:
                return procs
            ended = sum(p.poll() is not None for p in procs)
            if ended or time.monotonic() > deadline:
                for p in procs:
                    stop(p)
                raise SystemExit(f"the {role} workers did not start ({ended} of {n} ended)")
            time.sleep(0.1)
    finally:
        engine.dispose()


def stop(proc, timeout: float = 30) -> None:
    """Ask a child process to stop; kill it if it has not within ``timeout`` seconds."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
