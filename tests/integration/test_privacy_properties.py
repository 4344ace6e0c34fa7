"""Stateful property tests: random sequences of consent changes, agreement changes, share
attempts (now and queued) and withdrawals, against the real gate on a real database."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from civicmoments.adapters.effects.share import GatedShareProvider
from civicmoments.domain.clock import FakeClock
from civicmoments.domain.consent import ConsentState
from civicmoments.engine.errors import ConsentNeverGivenError
from civicmoments.engine.gate import Release
from civicmoments.engine.ports import Effect, EffectResult

from ..conftest import make_app

PURPOSES = ["employment-support", "fare-concession"]  # opt-in and opt-out
ATTRIBUTES = ["occupation", "postcode", "skills"]


class Courier:
    """The partner's end of a share: records the bodies that arrived."""

    def __init__(self) -> None:
        self.received: list[dict] = []

    def deliver(self, parcels, fence):
        sent = []
        for p in parcels:
            with fence.sending(p) as why:
                if why is None:
                    self.received.append(json.loads(p.body))
                    sent.append(EffectResult.done())
                else:
                    sent.append(EffectResult.fail(why))
        return sent


class PrivacyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = FakeClock()
        self.app = make_app(f"sqlite:///{Path(self.tmp.name) / 'p.db'}", self.clock)
        hmrc, _ = self.app.organisations.add("HMRC", ["h"], ["facts:*"])
        self.partners = {}
        for name in ("JobMatch", "Trainer"):
            org, _ = self.app.organisations.add(name, [name], [])
            self.partners[name] = org.id
        self.people = []
        for i in range(3):
            p = self.app.registry.add_person()
            self.app.registry.record(hmrc, p, [{"attribute": "occupation", "value": f"job{i}"},
                                               {"attribute": "postcode", "value": f"LS{i} 1AA"},
                                               {"attribute": "skills", "value": f"skill{i}"}])
            self.people.append(p)
        self.courier = Courier()
        self.share = GatedShareProvider(self.app.gate, self.app.store, self.courier, self.app.outbound)
        self.consent: dict[tuple[str, str], ConsentState] = {}  # the model
        self.agreement: dict[tuple[str, str], set[str] | None] = {}  # partner, purpose -> attributes
        self.queue: list[Effect] = []
        self.attempts = 0
        self.pseudonyms: dict[tuple[str, str, str], str] = {}
        self.n = 0

    def teardown(self) -> None:
        self.app.store.close()
        self.tmp.cleanup()

    def allowed(self, person: str, partner: str, purpose: str) -> bool:
        state = self.consent.get((person, purpose))
        if purpose == "employment-support":
            basis = state is ConsentState.GIVEN
        else:
            basis = state not in (ConsentState.REFUSED, ConsentState.WITHDRAWN)
        return basis and bool(self.agreement.get((partner, purpose)))

    people_ = st.integers(0, 2)
    partners_ = st.sampled_from(["JobMatch", "Trainer"])
    purposes_ = st.sampled_from(PURPOSES)

    @rule(who=people_, purpose=purposes_, action=st.sampled_from(["give", "refuse", "withdraw"]))
    def change_consent(self, who, purpose, action):
        person = self.people[who]
        self.clock.advance(__import__("datetime").timedelta(seconds=1))
        try:
            getattr(self.app.consents, action)(person, purpose)
        except ConsentNeverGivenError:
            assert self.consent.get((person, purpose)) is not ConsentState.GIVEN
            return
        self.consent[(person, purpose)] = {"give": ConsentState.GIVEN, "refuse": ConsentState.REFUSED,
                                           "withdraw": ConsentState.WITHDRAWN}[action]

    @rule(partner=partners_, purpose=purposes_, attrs=st.sets(st.sampled_from(ATTRIBUTES), min_size=1))
    def put_agreement(self, partner, purpose, attrs):
        self.clock.advance(__import__("datetime").timedelta(seconds=1))
        self.app.agreements.put(f"{partner}-{purpose}", partner, purpose, sorted(attrs))
        self.agreement[(self.partners[partner], purpose)] = set(attrs)

    @precondition(lambda self: any(self.agreement.values()))
    @rule(data=st.data())
    def revoke_agreement(self, data):
        live = [k for k, v in self.agreement.items() if v]
        partner_id, purpose = data.draw(st.sampled_from(live))
        name = next(n for n, i in self.partners.items() if i == partner_id)
        self.app.agreements.revoke(f"{name}-{purpose}")
        self.agreement[(partner_id, purpose)] = None

    @rule(who=people_, partner=partners_, purpose=purposes_,
          attrs=st.lists(st.sampled_from(ATTRIBUTES), min_size=1, unique=True))
    def share_now(self, who, partner, purpose, attrs):
        person, partner_id = self.people[who], self.partners[partner]
        expected = self.allowed(person, partner_id, purpose)
        agreed = self.agreement.get((partner_id, purpose)) or set()
        (result,) = self.app.gate.disclose(partner_id, purpose, [person], attrs)
        self.attempts += 1
        if isinstance(result, Release):
            assert expected, "disclosed without a valid basis"
            assert set(result.data) <= agreed and set(result.data) <= set(attrs)
            self.check_pseudonym(person, partner_id, purpose, result.subject)
        else:
            assert not expected or not (set(attrs) & agreed)

    @rule(who=people_, partner=partners_, purpose=purposes_)
    def queue_share(self, who, partner, purpose):
        self.n += 1
        self.queue.append(Effect(key=f"k{self.n}", journey="j", person=self.people[who], step="match",
                                 kind="share", payload={"spec": {"with": partner, "purpose": purpose,
                                                                 "attributes": ATTRIBUTES}},
                                 max_attempts=1, backoff_seconds=1, id=self.n, attempts=1))

    @precondition(lambda self: self.queue)
    @rule()
    def perform_queued(self):
        """The effect worker reaches queued shares: the basis is judged now, not when queued."""
        before = len(self.courier.received)
        expected = [self.allowed(e.person, self.partners[e.payload["spec"]["with"]], e.payload["spec"]["purpose"])
                    for e in self.queue]
        results = self.share.perform(self.queue)
        self.attempts += len(self.queue)
        delivered = self.courier.received[before:]
        assert [r.verdict.value == "done" for r in results] == expected
        assert len(delivered) == sum(expected)
        for body in delivered:
            assert body["subject"].startswith("ps")  # pseudonymised by the agreement's default mode
        self.queue = []

    def check_pseudonym(self, person, partner, purpose, subject):
        key = (person, partner, purpose)
        assert self.pseudonyms.setdefault(key, subject) == subject, "pseudonym changed"
        others = {v for k, v in self.pseudonyms.items() if k != key}
        assert subject not in others, "two pairs share a pseudonym: linkable"
        assert person not in subject

    @invariant()
    def every_attempt_is_logged(self):
        seq, _ = self.app.registry.store.log_head()
        assert seq == self.attempts

    @invariant()
    def the_log_is_intact(self):
        if self.attempts % 5 == 0:
            assert self.app.audit.verify().intact


PrivacyMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
TestPrivacyProperties = PrivacyMachine.TestCase
