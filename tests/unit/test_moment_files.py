"""Moment files are validated when loaded; every error names the file and the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmoments.cli import main
from civicmoments.packs import PackError, load_pack
from civicmoments.packs.moments import load_moment

from ..conftest import UK_PACK

GOOD = """\
moment: sample
trigger:
  event: t.start
steps:
  - id: tell
    notify: hello
"""


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path: Path, text: str, known=None) -> PackError:
    with pytest.raises(PackError) as info:
        load_moment(write(tmp_path, text), known)
    return info.value


def test_the_reference_pack_loads():
    pack = load_pack(UK_PACK)
    assert "job-loss" in pack.moments
    assert "uk.gov.dwp.employment.job-ended" in pack.event_types


def test_a_good_moment_loads(tmp_path):
    m = load_moment(write(tmp_path, GOOD))
    assert m.id == "sample" and m.steps[0].spec == {"template": "hello"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("notify: hello", "notify: hello\n    colour: red"), 7, "unknown key 'colour'"),
        (GOOD.replace("trigger:\n  event: t.start\n", ""), 1, "needs a 'trigger'"),
        (GOOD.replace("  event: t.start", "  event: t.start\n  when: 'event.data.('"), 4, "invalid CEL"),
        (GOOD.replace("    notify: hello", "    notify: hello\n    after: [nowhere]"), 7, "'nowhere'"),
        (GOOD.replace("    notify: hello", "    notify: hello\n    grant: x"), 5, "exactly one kind"),
        (GOOD + "objective: {event: t.end, within: P1Y}\n", 7, "years and months are not allowed"),
        (GOOD.replace("on_timeout", "x") + "  - id: tell\n    notify: again\n", 7, "used twice"),
        (GOOD.replace("id: tell", "id: Tell"), 5, "lower-case"),
        ("moment: [unclosed\n", 2, "not valid YAML"),
    ],
)
def test_errors_name_the_line_and_the_problem(tmp_path, text, line, words):
    err = error_for(tmp_path, text)
    assert words in str(err)
    assert err.line == line
    assert str(err).startswith(str(tmp_path / "m.yaml"))


def test_a_cycle_between_steps_is_refused(tmp_path):
    err = error_for(tmp_path, """\
        moment: loop
        trigger: {event: t.start}
        steps:
          - {id: a, after: [b], notify: x}
          - {id: b, after: [a], notify: y}
        """)
    assert "cycle" in err.problem and "a -> b -> a" in err.problem


def test_an_unregistered_event_type_is_refused(tmp_path):
    err = error_for(tmp_path, GOOD, known={"t.other"})
    assert "'t.start' is not a registered event type" in err.problem
    assert err.line == 3


def test_civic_moments_check_accepts_the_reference_pack():
    result = CliRunner().invoke(main, ["moments", "check", str(UK_PACK / "moments")])
    assert result.exit_code == 0, result.output
    assert "job-loss" in result.output


def test_civic_moments_check_reports_file_and_line(tmp_path):
    moments = tmp_path / "moments"
    moments.mkdir()
    text = GOOD.replace("t.start", "uk.gov.dwp.employment.job-ended")
    write(moments, text.replace("notify: hello", "notify: hello\n    colour: red"))
    result = CliRunner().invoke(main, ["moments", "check", str(moments),
                                       "--events", str(UK_PACK / "events")])
    assert result.exit_code == 1
    assert f"{moments / 'm.yaml'}:7" in result.output


def test_an_open_case_step_names_a_declared_queue_and_waits_only_when_asked(tmp_path):
    from civicmoments.packs.moments import load_moment

    f = tmp_path / "m.yaml"
    f.write_text("moment: m\ntrigger: {event: t.a}\nsteps:\n  - id: r\n"
                 "    open-case: {queue: nowhere, wait: true}\n")
    with pytest.raises(PackError, match=r"m.yaml:5: queue 'nowhere' is not declared"):
        load_moment(f, known_queues={"decision-review"})
    f.write_text("moment: m\ntrigger: {event: t.a}\nsteps:\n  - id: r\n"
                 "    open-case: {queue: decision-review, wait: sometimes}\n")
    with pytest.raises(PackError, match=r"m.yaml:5: 'wait' is true or false"):
        load_moment(f, known_queues={"decision-review"})
    f.write_text("moment: m\ntrigger: {event: t.a}\nsteps:\n  - id: r\n    open-case: decision-review\n"
                 "  - id: w\n    open-case: {queue: decision-review, priority: high, wait: true}\n")
    m = load_moment(f, known_queues={"decision-review"})
    assert m.step("r").reply is None and m.step("w").reply == "civic.case.resolved"
    assert m.step("w").spec == {"queue": "decision-review", "priority": "high"}
