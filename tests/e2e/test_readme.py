"""The README's "Using it" block runs as written, in order, on a clean database, with the
sample files in examples/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def using_it_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using it", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_using_it_block_runs_on_a_clean_database(tmp_path):
    block = using_it_block()
    assert "cd examples" in block and "civic" in block
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update({"CIVIC_DATA_DIR": str(tmp_path / "data"), "CIVIC_NOW": "2026-11-30T09:00:00Z",
                "CIVIC_LOG_LEVEL": "WARNING", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"})
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "job-loss" in out  # the report started Abe's journey
    assert "notice-of-assistance" in out  # and his notice went out
    assert "1 accepted, 1 held" in out and "verification" in out  # the unknown row is held for a person
    assert "its token is in northfield.token" in out
    assert (tmp_path / "examples" / "northfield.token").stat().st_mode & 0o077 == 0
