"""The dispatcher's batch logic, with journeys in memory and a fake clock."""

from __future__ import annotations

from civicmoments.domain.clock import FakeClock
from civicmoments.domain.events import EFFECT_COMPLETED
from civicmoments.engine.dispatcher import Dispatcher

from .helpers import event, moment

M = moment("""
    moment: m
    trigger: {event: t.start, when: 'event.data.reason == "redundancy"'}
    steps:
      - {id: assess, decide: [x]}
      - {id: tell, after: [assess], notify: hi}
""")


def test_one_journey_per_moment_and_person_at_a_time():
    d = Dispatcher({"m": M}, FakeClock())
    active = {"p1": []}
    r = d.handle([event("t.start", {"reason": "redundancy"}), event("t.start", {"reason": "redundancy"})],
                 active)
    assert len(r.new_journeys) == 1
    assert len(r.processed) == 2 and not r.quarantined


def test_an_event_that_breaks_a_condition_is_quarantined_and_the_batch_goes_on():
    d = Dispatcher({"m": M}, FakeClock())
    bad, good = event("t.start", {"no_reason": 1}, subject="p1"), event("t.start", {"reason": "redundancy"},
                                                                          subject="p2")
    r = d.handle([bad, good], {"p1": [], "p2": []})
    assert r.processed == [good.seq]
    (seq, reason), = r.quarantined
    assert seq == bad.seq and "'reason'" in reason
    assert [j.person for j in r.new_journeys] == ["p2"]


def test_engine_events_reach_only_the_journey_they_name():
    d = Dispatcher({"m": M}, FakeClock())
    active = {"p1": []}
    r1 = d.handle([event("t.start", {"reason": "redundancy"})], active)
    j = r1.new_journeys[0]
    other = event(EFFECT_COMPLETED, {"journey": "someone-else", "step": "assess",
                                     "key": f"{j.id}:assess", "result": {}})
    r2 = d.handle([other], active)
    assert not r2.updated_journeys and not r2.timeline
    mine = event(EFFECT_COMPLETED, {"journey": j.id, "step": "assess", "key": f"{j.id}:assess",
                                    "result": {"outputs": {"x": 1}}})
    r3 = d.handle([mine], active)
    assert [u.id for u in r3.updated_journeys] == [j.id]
    assert [e.step for e in r3.effects] == ["tell"]
    assert r3.updated_journeys[0].status.value == "completed"
    assert r3.halted == []  # it ran its course: the effect it just queued must still happen


def test_a_journey_started_and_ended_in_one_batch_is_written_once_as_new():
    d = Dispatcher({"m": M}, FakeClock())
    active = {"p1": []}
    r = d.handle([event("t.start", {"reason": "redundancy"})], active)
    j = r.new_journeys[0]
    done = event(EFFECT_COMPLETED, {"journey": j.id, "step": "assess", "key": f"{j.id}:assess",
                                    "result": {}})
    active = {"p1": []}
    r = d.handle([event("t.start", {"reason": "redundancy"}, id_="x"), done], active)
    assert len(r.new_journeys) == 1 and not r.updated_journeys
