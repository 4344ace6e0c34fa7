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


def test_a_death_ends_every_journey_of_the_person_and_then_starts_its_own_moments():
    after = moment("""
        moment: after
        trigger: {event: t.died}
        steps:
          - {id: tell, share: {with: HMRC, purpose: p, attributes: [a]}}
    """)
    d = Dispatcher({"m": M, "after": after}, FakeClock(), ends=frozenset({"t.died"}))
    active = {"p1": []}
    first = d.handle([event("t.start", {"reason": "redundancy"})], active)
    (running,) = first.new_journeys
    r = d.handle([event("t.died", {})], {"p1": [running]})
    (ended,) = r.updated_journeys
    assert ended.id == running.id and ended.status.value == "cancelled"
    assert r.halted == [running.id] and r.deceased == ["p1"]
    assert [j.moment for j in r.new_journeys] == ["after"]
    assert [e.step for e in r.effects] == ["tell"]  # the ended journey queues nothing more


def test_without_ends_a_death_is_an_ordinary_event():
    d = Dispatcher({"m": M}, FakeClock())
    first = d.handle([event("t.start", {"reason": "redundancy"})], {"p1": []})
    r = d.handle([event("t.died", {})], {"p1": list(first.new_journeys)})
    assert r.updated_journeys == [] and r.deceased == []
