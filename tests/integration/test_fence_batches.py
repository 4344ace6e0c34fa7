"""A batch of parcels checked at the fence together still stops, at the last moment, a body whose
person withdrew while it waited its turn; a withdrawal waits only for the bodies on the wire."""

from __future__ import annotations

import threading
import time

from civicmoments.engine.outbound import STOPPED_MEANWHILE, Fence, Parcel


def parcel(i: int) -> Parcel:
    return Parcel(f"r{i}", "org", "Partner", f"p{i}", "employment-support", "share", ("occupation",), b"{}")


def test_a_body_waiting_its_turn_stops_when_its_person_withdraws_and_the_withdrawal_waits_for_the_wire():
    withdrawn: set[str] = set()
    fence = Fence(lambda p: "consent withdrawn" if p.person in withdrawn else None)
    parcels = [parcel(i) for i in range(4)]
    on_the_wire = threading.Event()
    sent, why_not = [], {}

    def deliver():  # one post at a time, as a transport with one connection would
        with fence.sending_all(parcels) as batch:
            for i, p in enumerate(parcels):
                with batch.sending(i) as why:
                    if why is not None:
                        why_not[p.person] = why
                        continue
                    on_the_wire.set()
                    time.sleep(0.3)  # the partner takes its time
                    sent.append(p.person)

    sender = threading.Thread(target=deliver)
    sender.start()
    assert on_the_wire.wait(10)  # p0 is being posted; p3 waits its turn, checked as may-send
    withdrawn.add("p3")  # the withdrawal is recorded ...
    assert fence.settle("p3", "employment-support", timeout=30)  # ... and p3 has nothing on the wire
    assert "p3" not in sent
    withdrawn.add("p0")
    assert fence.settle("p0", "employment-support", timeout=30)  # p0's post was on the wire: waited for
    assert "p0" in sent
    sender.join(10)
    assert "p3" not in sent and why_not == {"p3": STOPPED_MEANWHILE}
    assert sent == ["p0", "p1", "p2"]
    assert fence.inflight == {}  # every parcel let go


def test_a_withdrawal_of_another_purpose_or_person_stops_nothing():
    fence = Fence()
    parcels = [parcel(0)]
    with fence.sending_all(parcels) as batch:
        assert fence.settle("p0", "fare-concession", timeout=5)  # a withdrawal of another purpose
        assert fence.settle("p9", "employment-support", timeout=5)  # and another person's
        with batch.sending(0) as why:
            assert why is None
    assert fence.inflight == {} and fence.marks == {}  # nothing left behind once no batch is open
