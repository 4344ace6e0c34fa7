"""Every promise a message or page makes names the step, case or channel that keeps it.

A sentence that says someone *will* do something is found in the pack's templates and
portal words; each must be listed here with the action behind it, and that action must
exist in the pack. A new promise without an action fails this test; so does an action
removed from under a promise. (The integration tests follow the main ones to their
result: tests/integration/test_provenance.py for "we have started it" and "confirm it and we
will start it", test_future_dates.py for "from DATE, we will work out".)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from civicmoments.domain.messages import Channel, Preferences, chain_for
from civicmoments.packs import load_pack

PACK = Path(__file__).resolve().parents[2] / "packs" / "uk"
PROMISE = re.compile(r"[^.\n>]*\b(?:we|someone|a work coach)\s+will\b[^.\n]*", re.I)


def step(moment: str, sid: str, kind: str, **spec):
    def check(pack) -> bool:
        s = pack.moments[moment].step(sid)
        return s.kind.value == kind and all(s.spec.get(k) == v for k, v in spec.items())
    return check


def channel(c: Channel):
    """Every message's chain ends with this channel, whatever the person's preferences."""
    return lambda pack: all(chain_for(p)[-1] is c for p in (Preferences(), Preferences(offline=True)))


PROMISES = {  # the promise, and what keeps it
    r"we will pay you": step("job-loss", "award", "grant", service="jsa-new-style"),  # only when awarded
    r"we will start it": step("job-loss", "confirmed-award", "grant", service="jsa-new-style"),
    r"a work coach will look at what you can get": step("job-loss", "review", "open-case", queue="decision-review"),
    r"a work coach will send you jobs": step("job-loss", "coach-match", "open-case", queue="job-matching"),
    # an undecided claim: the answers still do not decide it, or nobody answered in time
    r"a work coach will look at your claim": lambda pack: all(
        step("job-loss", sid, "open-case", queue="work-coach")(pack) for sid in ("coach-decision", "follow-up")),
    r"we will tell you the outcome and (the reason|why)": lambda pack: (  # a reconsideration, asked from the portal
        step("reconsideration", "reconsider", "open-case", queue="mandatory-reconsideration")(pack)
        and step("reconsideration", "notice", "notify", template="reconsideration-outcome")(pack)),
    r"someone will check what the law lets us delete": lambda pack: (
        step("erasure-request", "check", "open-case", queue="erasure")(pack)
        and step("erasure-request", "answer", "notify", template="erasure-decision")(pack)),
    r"a work coach will find them": step("job-loss", "coach-decision", "open-case", queue="work-coach"),
    r"we will work out (whether|what) you can get": step("job-loss", "assess", "decide"),
    r"we will help you by phone or in person": channel(Channel.ASSISTED),
    r"we will go through it with you": channel(Channel.ASSISTED),
    # the digital lifetime: reminders from the sweep, offers that stop when declined, a move told once
    r"we will remind you in time to book": step("immunisations", "remind", "notify", template="immunisation-due"),
    r"we will (stop reminding you|not remind you)": lambda pack: all(  # the reminder only follows silence
        step(m, "answer", "wait")(pack) and "timed-out" in (pack.moments[m].step("reminder").when_source or "")
        for m in ("register-to-vote", "provisional-licence")),
    r"we will tell the organisations you choose|who we will tell": step("moving-home", "council-tax", "share"),
    # money: an overpayment is only told until a person decides (engine/payments.decide_overpayment sends
    # overpayment-decision)
    r"nothing will be taken back unless a person decides it should be, and we will write to you first": lambda pack: (
        "overpayment-found" in pack.templates and "overpayment-decision" in pack.templates),
    r"we will send you a message listing who we told": step("moving-home", "told", "notify", template="move-told"),
    # contact details: the portal queues the code (Messenger.confirm_contact), and a confirmed detail is used
    r"we will (text|email) a code": lambda pack: (
        pack.templates["contact-confirm"].purpose == "contact-details" and "contact-details" in pack.purposes),
    r"we will use it from now on": lambda pack: all(pack.attributes[a].newest_wins for a in ("phone", "email")),
}


def promises() -> list[tuple[str, str]]:
    found = []
    for f in sorted((PACK / "templates").glob("*.yaml")) + [PACK / "portal" / "en.yaml"]:
        for m in PROMISE.finditer(f.read_text()):
            found.append((f.name, " ".join(m.group(0).split())))
    return found


def test_the_pack_has_promises_to_check():
    assert len(promises()) >= 5


@pytest.mark.parametrize(("where", "sentence"), promises())
def test_every_promise_names_the_action_that_keeps_it(where, sentence):
    pack = load_pack(PACK)
    keepers = [check for pattern, check in PROMISES.items() if re.search(pattern, sentence, re.I)]
    assert keepers, f"{where}: {sentence!r} promises something no step, case or channel is listed as keeping"
    assert all(check(pack) for check in keepers), f"{where}: the action behind {sentence!r} is gone"


def test_we_will_pay_you_is_said_only_when_the_award_was_made():
    text = (PACK / "templates" / "notice-of-assistance.yaml").read_text()
    for m in re.finditer(r"We will pay you", text):
        before = text[:m.start()]
        assert before.rstrip().endswith("{% if eligible and awarded %}"), "a payment promise without an award"
