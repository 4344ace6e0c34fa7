"""The message rules: the channel chain, statuses, retries, deadlines and quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from civicmoments.domain import messages as M
from civicmoments.domain.messages import Channel as C
from civicmoments.domain.messages import Status as S

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def message(chain=M.DEFAULT_CHAIN, position=0, status=S.QUEUED, attempts=0) -> M.Message:
    return M.Message("m1", "k1", "p1", tuple(chain), position, status, attempts, NOW)


@pytest.mark.parametrize(("prefs", "chain"), [
    (M.Preferences(), [C.INBOX, C.SMS, C.EMAIL, C.LETTER, C.ASSISTED]),
    (M.Preferences(channels=(C.EMAIL, C.SMS)), [C.EMAIL, C.SMS, C.INBOX, C.LETTER, C.ASSISTED]),
    (M.Preferences(channels=(C.LETTER,)), [C.LETTER, C.INBOX, C.SMS, C.EMAIL, C.ASSISTED]),
    (M.Preferences(offline=True), [C.SMS, C.LETTER, C.ASSISTED]),
    (M.Preferences(channels=(C.EMAIL,), offline=True), [C.SMS, C.LETTER, C.ASSISTED]),
])
def test_the_chain_follows_the_persons_choices_and_always_ends_with_a_letter_then_staff(prefs, chain):
    assert list(M.chain_for(prefs)) == chain


def test_a_permanent_failure_moves_to_the_next_channel_and_says_why():
    t = M.settle(message(), M.Outcome(S.PERMANENT_FAILURE, "no such number"), NOW, M.Policy())
    assert (t.message.channel, t.message.status, t.message.attempts) == (C.SMS, S.QUEUED, 0)
    assert [(h.channel, h.status, h.detail) for h in t.history] == [
        (C.INBOX, S.PERMANENT_FAILURE, "no such number"), (C.SMS, S.QUEUED, "next channel after inbox")]


def test_a_passing_failure_is_retried_with_growing_backoff_then_moves_on():
    policy = M.Policy(attempts=3, backoff=timedelta(seconds=2))
    m = message(position=1)
    waits = []
    for _ in range(2):
        t = M.settle(m, M.Outcome(S.TECHNICAL_FAILURE, "HTTP 503"), NOW, policy)
        m = t.message
        waits.append((m.next_at - NOW).total_seconds())
        assert (m.channel, m.status) == (C.SMS, S.TECHNICAL_FAILURE)
    assert waits == [2.0, 4.0]
    t = M.settle(m, M.Outcome(S.TEMPORARY_FAILURE, "phone off"), NOW, policy)
    assert t.message.channel is C.EMAIL and t.history[0].detail == "phone off; gave up after 3 attempts"


def test_the_last_channel_failing_ends_the_message_as_a_permanent_failure():
    t = M.settle(message(position=4), M.Outcome(S.PERMANENT_FAILURE, "no one answered"), NOW, M.Policy())
    assert t.message.status is S.PERMANENT_FAILURE and t.finished


def test_sending_waits_for_the_channels_deadline_then_moves_on():
    t = M.settle(message(position=1), M.Outcome(S.SENDING, "accepted"), NOW, M.Policy())
    assert t.message.next_at == NOW + timedelta(hours=4)
    later = M.overdue(t.message, NOW + timedelta(hours=4))
    assert later.message.channel is C.EMAIL and "not delivered within the sms deadline" in later.history[0].detail


def test_a_finished_message_ignores_late_news():
    done = M.settle(message(), M.Outcome(S.DELIVERED, "read"), NOW, M.Policy()).message
    assert M.settle(done, M.Outcome(S.PERMANENT_FAILURE, "late"), NOW, M.Policy()).history == ()
    assert M.cancel(done, NOW, "withdrawn").message.status is S.DELIVERED


def test_a_channel_cannot_report_a_message_queued():
    with pytest.raises(ValueError, match="cannot report"):
        M.settle(message(), M.Outcome(S.QUEUED), NOW, M.Policy())


@pytest.mark.parametrize("status", [S.SENT, S.DELIVERED, S.CANCELLED])
def test_a_final_status_from_the_provider_ends_the_message_where_it_is(status):
    t = M.settle(message(), M.Outcome(status, "receipt"), NOW, M.Policy())
    assert t.finished and t.message.status is status and t.message.next_at is None
    assert t.message.channel is message().channel


@pytest.mark.parametrize(("at", "release"), [
    (time(22, 30), datetime(2026, 1, 6, 8, 0)),
    (time(7, 59), datetime(2026, 1, 5, 8, 0)),
    (time(8, 0), None),
    (time(20, 59), None),
])
def test_quiet_hours_across_midnight(at, release):
    quiet = M.QuietHours.parse("21:00-08:00")
    assert quiet.release(datetime.combine(datetime(2026, 1, 5).date(), at)) == release


def test_preferences_reject_what_they_do_not_know_with_a_clear_message():
    with pytest.raises(ValueError, match="channels are inbox, sms, email, letter, assisted; got"):
        M.Preferences.from_dict({"channels": ["pigeon"]})
    with pytest.raises(ValueError, match="quiet hours are written like 21:00-08:00; got '9pm'"):
        M.Preferences.from_dict({"quiet_hours": "9pm"})
    with pytest.raises(ValueError, match="unknown preference 'colour'"):
        M.Preferences.from_dict({"colour": "blue"})
    prefs = M.Preferences.from_dict({"channels": ["sms"], "language": "cy", "quiet_hours": "21:00-08:00"})
    assert M.Preferences.from_dict(prefs.as_dict()) == prefs
