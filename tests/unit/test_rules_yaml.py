"""The pack's OpenFisca YAML tests, in the form policy staff write them, and their coverage."""

from __future__ import annotations

import subprocess
import sys

import yaml

from ..conftest import UK_PACK

RUN = """
import sys
sys.path.insert(0, {folder!r})
from uk_rules import build_system
from openfisca_core.tools.test_runner import run_tests
sys.exit(run_tests(build_system(), [{tests!r}], {{"verbose": False}}))
"""


def test_every_yaml_test_passes():
    code = RUN.format(folder=str(UK_PACK / "openfisca"), tests=str(UK_PACK / "openfisca" / "tests"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_every_variable_has_a_yaml_test():
    sys.path.insert(0, str(UK_PACK / "openfisca"))
    from uk_rules import build_system

    tested = set()
    for file in (UK_PACK / "openfisca" / "tests").glob("*.yaml"):
        for case in yaml.safe_load(file.read_text()):
            tested |= set(case.get("output", {}))
    assert set(build_system().variables) - tested == set()
