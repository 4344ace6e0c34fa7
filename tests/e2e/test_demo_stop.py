"""``civic demo`` as an operator stops it: SIGTERM (a service manager, ``kill``) ends the demo and every
process it started; its data folder is the owner's alone from the start."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import psutil

from .conftest import CIVIC

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_stops_the_demo_and_its_children_and_its_folder_is_private(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    demo = subprocess.Popen([*CIVIC, "demo"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o022))
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and demo.poll() is None:  # the platform and both partners started
            children = psutil.Process(demo.pid).children()
            if len(children) >= 3:
                break
            time.sleep(0.2)
        assert len(children) >= 3, "the demo did not start its platform and partners"
        folder = tmp_path / ".civic" / "demo"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) != 0
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if demo.poll() is None:
            demo.kill()
        for p in children:  # only what this test's demo started, by id
            if p.is_running():
                p.kill()
