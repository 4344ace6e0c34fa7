"""SQLite's writers queue at a file lock beside the database: a waiting process sleeps in the
kernel's queue, not in SQLite's busy handler; a holder that dies lets the next one in; a forked
child holds its own place in the queue, not its parent's."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import text

from civicmoments.adapters.store.engine import make_engines


def holder(url: str, then: str) -> subprocess.Popen:
    """A process that takes the write lock, says so on stdout, then runs ``then``."""
    code = textwrap.dedent(f"""
        import sys, time
        from sqlalchemy import text
        from civicmoments.adapters.store.engine import make_engines
        writer, _ = make_engines({url!r}, 2)
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES ('holder')"))
            print("holding", flush=True)
            {then}
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})


def waiting_on(lock_file: Path) -> bool:
    """Whether some process waits for a ``flock`` on this file (``/proc/locks`` marks waiters ``->``)."""
    inode = os.stat(lock_file).st_ino
    return any(line.split()[1] == "->" and line.split()[6].endswith(f":{inode}")
               for line in Path("/proc/locks").read_text().splitlines() if "FLOCK" in line)


def database(path: Path):
    """A SQLite file with one table ``t (who)``: its URL, and its writing and reading engines."""
    url = f"sqlite:///{path}"
    writer, reader = make_engines(url, 2)
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (who TEXT)"))
    return url, writer, reader


def test_a_second_process_waits_in_the_kernel_queue_and_writes_once_the_first_commits(tmp_path):
    url, writer, reader = database(tmp_path / "q.db")
    first = holder(url, "time.sleep(3)")
    assert first.stdout.readline().strip() == "holding"
    second = holder(url, "pass")
    lock_file = tmp_path / "q.db-writer"
    for _ in range(200):  # the second is queued at the file lock, not polling SQLite
        if waiting_on(lock_file):
            break
        time.sleep(0.02)
    assert waiting_on(lock_file)
    assert second.poll() is None
    assert first.wait(30) == 0 and second.wait(30) == 0
    with reader.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    writer.dispose()
    reader.dispose()


def test_a_holder_that_dies_lets_the_next_writer_in(tmp_path):
    url, writer, reader = database(tmp_path / "d.db")
    doomed = holder(url, "time.sleep(600)")
    assert doomed.stdout.readline().strip() == "holding"
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    with writer.begin() as conn:  # neither the file lock nor SQLite's is left behind
        conn.execute(text("INSERT INTO t VALUES ('next')"))
    with reader.connect() as conn:
        assert conn.execute(text("SELECT who FROM t")).scalars().all() == ["next"]  # the dead one's rolled back
    writer.dispose()
    reader.dispose()


def test_a_forked_child_queues_apart_from_its_parent(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    writer, _ = make_engines(url, 2)
    from civicmoments.adapters.store.engine import _WRITE_LOCKS

    queue = _WRITE_LOCKS[url]
    queue.acquire()  # the parent holds the queue
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its own open file, so the parent's lock keeps it out
            try:
                fcntl.flock(queue._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.write(write, b"in")
            except BlockingIOError:
                os.write(write, b"kept out")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 100) == b"kept out"
    finally:
        queue.release()
    writer.dispose()
