"""The README's table of figures is the one bench/results makes, and the check catches a drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "bench" / "figures.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(FIGURES), *args], capture_output=True, text=True, cwd=ROOT)


def test_readme_table_matches_the_results_files():
    done = run("--check")
    assert done.returncode == 0, done.stderr


def test_a_hand_edited_figure_is_caught(tmp_path):
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    assert "| Profile projection |" in text
    # change one figure in the table only
    start = text.index("| Profile projection |")
    line = text[start:text.index("\n", start)]
    readme.write_text(text.replace(line, line.replace("| yes |", "| maybe |").replace("| no |", "| maybe |")))
    done = run("--check", "--readme", str(readme))
    assert done.returncode == 1
    assert "run `python bench/figures.py --write`" in done.stderr
    # and --write puts it right
    assert run("--write", "--readme", str(readme)).returncode == 0
    assert run("--check", "--readme", str(readme)).returncode == 0


def test_a_readme_without_the_block_says_so(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Nothing here\n")
    done = run("--check", "--readme", str(readme))
    assert done.returncode == 1
    assert "no figures block" in done.stderr
    assert "Traceback" not in done.stderr
