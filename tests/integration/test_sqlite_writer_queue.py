"""SQLite's writers queue at a file lock beside the database: a process waits for its turn; a
holder that dies lets the next one in; a forked child queues apart from its parent; a write
inside a write is refused; and no file stays open between turns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from civicmoments.adapters.store.engine import make_engines


def holder(url: str, then: str) -> subprocess.Popen:
    """A process that takes the write lock and says so on stdout ("holding <monotonic time>", one
    clock for every process), runs ``then``, commits, and says so ("done <monotonic time>")."""
    code = textwrap.dedent(f"""
        import sys, time
        from sqlalchemy import text
        from civicmoments.adapters.store.engine import make_engines
        writer, _ = make_engines({url!r}, 2)
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES ('holder')"))
            print("holding", time.monotonic(), flush=True)
            {then}
        print("done", time.monotonic(), flush=True)
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})


def database(path: Path):
    """A SQLite file with one table ``t (who)``: its URL, and its writing and reading engines."""
    url = f"sqlite:///{path}"
    writer, reader = make_engines(url, 2)
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (who TEXT)"))
    return url, writer, reader


def test_a_second_process_waits_for_its_turn_and_writes_once_the_first_has_committed(tmp_path):
    url, writer, reader = database(tmp_path / "q.db")
    first = holder(url, "time.sleep(2)")
    held_from = float(first.stdout.readline().split()[1])
    second = holder(url, "pass")
    first.communicate(timeout=60)
    second_out, _ = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0
    assert float(second_out.split()[1]) >= held_from + 2.0  # its turn began only after the first's had ended
    with reader.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    writer.dispose()
    reader.dispose()


def test_a_holder_that_dies_lets_the_next_writer_in(tmp_path):
    url, writer, reader = database(tmp_path / "d.db")
    doomed = holder(url, "time.sleep(600)")
    assert doomed.stdout.readline().startswith("holding")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    with writer.begin() as conn:  # neither the file lock nor SQLite's is left behind
        conn.execute(text("INSERT INTO t VALUES ('next')"))
    with reader.connect() as conn:
        assert conn.execute(text("SELECT who FROM t")).scalars().all() == ["next"]  # the dead one's rolled back
    writer.dispose()
    reader.dispose()


def test_a_forked_child_queues_apart_from_its_parent(tmp_path):
    from civicmoments.adapters.store.engine import writer_queue

    url, writer, reader = database(tmp_path / "f.db")
    queue = writer_queue(url)
    queue.acquire()  # the parent holds its turn
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child starts outside the queue, and the parent's turn keeps it out
            try:
                mine = writer_queue(url)
                assert mine is queue and mine._fd is None and mine._holder is None
                import fcntl

                fcntl.flock(os.open(mine.path, os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.write(write, b"in")
            except BlockingIOError:
                os.write(write, b"kept out")
            except BaseException as exc:  # noqa: BLE001 - told to the parent
                os.write(write, repr(exc).encode())
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 100) == b"kept out"
    finally:
        queue.release()
    writer.dispose()
    reader.dispose()


def test_a_write_inside_a_write_on_another_engine_of_the_same_file_is_refused_not_left_hanging(tmp_path,
                                                                                                monkeypatch):
    from sqlalchemy.exc import OperationalError

    url, writer, reader = database(tmp_path / "n.db")
    monkeypatch.chdir(tmp_path)
    other, _ = make_engines("sqlite:///n.db", 2)  # the same file, spelt another way
    with writer.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES ('outer')"))
        with pytest.raises(OperationalError, match="already holds the write transaction"), other.begin() as inner:
            inner.execute(text("INSERT INTO t VALUES ('inner')"))
    with reader.connect() as conn:
        assert conn.execute(text("SELECT who FROM t")).scalars().all() == ["outer"]
    for engine in (writer, reader, other):
        engine.dispose()


def test_two_spellings_of_one_file_share_one_queue_and_no_file_stays_open(tmp_path, monkeypatch):
    from civicmoments.adapters.store.engine import writer_queue

    monkeypatch.chdir(tmp_path)
    assert writer_queue(f"sqlite:///{tmp_path / 's.db'}") is writer_queue("sqlite:///s.db")
    before = len(os.listdir("/proc/self/fd"))
    for i in range(20):
        url, writer, reader = database(tmp_path / f"many{i}.db")
        with writer.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES ('x')"))
        writer.dispose()
        reader.dispose()
    assert len(os.listdir("/proc/self/fd")) <= before + 1  # each turn's file is closed when it ends
