"""The data folder is the owner's alone: made 0700 with its database and keys 0600, and
``civic serve`` says so when they are not."""

from __future__ import annotations

import os
import stat
import subprocess

from click.testing import CliRunner

from civicmoments.cli import main

from .conftest import CIVIC, civic_env, free_port


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_database_and_keys_are_private_from_the_start(tmp_path):
    os.umask(0o022)  # the usual umask would make them world-readable
    data = tmp_path / "data"
    env = civic_env(data)
    assert CliRunner().invoke(main, ["people", "add"], env=env).exit_code == 0
    assert mode(data) == 0o700
    assert mode(data / "civic.db") == 0o600 and mode(data / "keys.json") == 0o600
    for wal in data.glob("civic.db-*"):
        assert mode(wal) == 0o600, wal


def test_serve_warns_when_the_data_folder_is_readable_by_others(tmp_path):
    data = tmp_path / "data"
    env = civic_env(data, CIVIC_PORT=str(free_port()))
    assert CliRunner().invoke(main, ["people", "add"], env=env).exit_code == 0
    data.chmod(0o755)
    (data / "civic.db").chmod(0o644)
    proc = subprocess.Popen([*CIVIC, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        lines = [proc.stderr.readline().decode() for _ in range(2)]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert any(f"{data} is mode 755; make it 700" in line for line in lines), lines
    assert any(f"{data / 'civic.db'} is mode 644; make it 600" in line for line in lines), lines
