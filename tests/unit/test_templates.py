"""Message templates: checked when the pack loads, rendered in the person's language."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest

from civicmoments.packs import PackError, load_pack
from civicmoments.packs.templates import PackSettings, TemplateRenderError, load_template, to_html

from ..conftest import UK_PACK

BOTH = PackSettings(("en", "cy"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """\
template: hello
version: 2
placeholders:
  amount: pence a week
en:
  subject: Hello
  short: "{{ name }}, you get {{ amount | money }}"
  long: "Dear {{ full_name }}, from {{ today | date }} you get {{ amount | money }} a week."
cy:
  subject: Helo
  short: "{{ name }}, rydych yn cael {{ amount | money }}"
  long: "Annwyl {{ full_name }}, o {{ today | date }} byddwch yn cael {{ amount | money }} yr wythnos."
"""


def test_dates_and_money_are_written_for_the_language(tmp_path):
    t = load_template(write(tmp_path, GOOD), BOTH)
    values = {"amount": 9205, "name": "Abe", "full_name": "Abe Jones", "today": date(2026, 11, 22)}
    assert t.render("en", values).long == "Dear Abe Jones, from 22 November 2026 you get £92.05 a week."
    assert t.render("cy", values).long == "Annwyl Abe Jones, o 22 Tachwedd 2026 byddwch yn cael £92.05 yr wythnos."
    assert t.render("fr", values).locale == "en"  # an unknown language falls back to the default


def test_an_undeclared_placeholder_is_rejected_when_the_pack_loads(tmp_path):
    text = GOOD.replace("{{ amount | money }} yr", "{{ amont | money }} yr")
    with pytest.raises(PackError) as err:
        load_template(write(tmp_path, text), BOTH)
    assert err.value.line == 12
    assert "placeholder 'amont' is not declared" in str(err.value)


def test_a_missing_language_is_rejected(tmp_path):
    text = GOOD[: GOOD.index("cy:")]
    with pytest.raises(PackError, match="template 'hello' has no 'cy' text; the pack's locales are en, cy"):
        load_template(write(tmp_path, text), BOTH)


def test_bad_jinja_is_rejected_with_its_line(tmp_path):
    text = GOOD.replace("subject: Hello", "subject: \"Hello {{ name \"")
    with pytest.raises(PackError, match=r"t.yaml:6: template syntax"):
        load_template(write(tmp_path, text), BOTH)


def test_the_sandbox_refuses_to_reach_into_python(tmp_path):
    text = GOOD.replace("subject: Hello", "subject: \"{{ name.__class__.__mro__ }}\"")
    t = load_template(write(tmp_path, text), BOTH)
    with pytest.raises(TemplateRenderError):
        t.render("en", {"amount": 1, "name": "x", "full_name": "x", "today": date(2026, 1, 1)})


def test_a_notify_step_must_fill_in_every_placeholder_of_its_template(tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(UK_PACK, pack)
    moment = pack / "moments" / "job-loss.yaml"
    text = moment.read_text()
    start = text.index("        weekly_amount:")
    end = text.index("        jobs:", start)
    moment.write_text(text[:start] + text[end:])
    with pytest.raises(PackError, match="template 'notice-of-assistance' needs weekly_amount under "
                                        "'personalisation'"):
        load_pack(pack)


def test_plain_text_becomes_paragraphs_and_lists_with_everything_escaped():
    assert to_html("Hi <you>\n\nNext:\n- one\n- two") == (
        "<p>Hi &lt;you&gt;</p>\n<p>Next:</p>\n<ul><li>one</li><li>two</li></ul>")


def test_web_addresses_in_messages_become_links():
    from civicmoments.packs.templates import to_html

    out = to_html("Answer at https://civic.example/survey by 5 May. See (https://www.gov.uk/jsa).", "govuk-link")
    assert '<a class="govuk-link" href="https://civic.example/survey">https://civic.example/survey</a> by' in out
    assert '(<a class="govuk-link" href="https://www.gov.uk/jsa">https://www.gov.uk/jsa</a>).' in out
    assert "<a" not in to_html("No link <script>here</script>")
