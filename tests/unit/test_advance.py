"""The pure heart of the engine: start and advance, with no database."""

from __future__ import annotations

from datetime import timedelta

from civicmoments.domain.events import (
    EFFECT_COMPLETED,
    EFFECT_DEAD_LETTERED,
    JOURNEY_CANCEL_REQUESTED,
    TIMER_FIRED,
)
from civicmoments.domain.journeys import JourneyStatus, StepStatus, advance, start

from .helpers import NOW, event, moment

FLOW = moment("""
    moment: flow
    trigger: {event: t.start, when: 'event.data.go == true'}
    objective: {event: t.goal, within: P30D}
    cancel_on:
      - {event: t.withdrawn, when: 'event.data.purpose == "support"'}
    steps:
      - id: assess
        decide: [eligible]
      - id: grant
        after: [assess]
        when: steps.assess.result.outputs.eligible
        grant: benefit
      - id: refuse-review
        after: [assess]
        when: "!steps.assess.result.outputs.eligible"
        open-case: review
      - id: survey
        after: [assess]
        ask: {person: [skills], deadline: P14D, on_timeout: continue}
      - id: plan
        after: [survey]
        when: steps.survey.status == "done"
        notify: plan
""")


def started(m=FLOW, data=None):
    out = start(m, "j1", event("t.start", data or {"go": True}), NOW)
    assert out is not None
    return out


def decided(eligible: bool):
    first = started()
    key = first.journey.steps["assess"].effect
    return advance(FLOW, first.journey, event(EFFECT_COMPLETED, {
        "journey": "j1", "step": "assess", "key": key, "result": {"outputs": {"eligible": eligible}}}), NOW)


def test_a_false_trigger_condition_starts_nothing():
    assert start(FLOW, "j1", event("t.start", {"go": False}), NOW) is None


def test_starting_queues_only_steps_without_dependencies_and_sets_the_objective_timer():
    out = started()
    assert [e.step for e in out.effects] == ["assess"]
    assert out.journey.steps["assess"].status is StepStatus.WAITING
    assert out.journey.steps["grant"].status is StepStatus.PENDING
    assert [t.step for t in out.timers] == ["objective"]
    assert out.timers[0].due_at == NOW + timedelta(days=30)


def test_a_decision_result_releases_the_steps_that_depend_on_it():
    out = decided(eligible=True)
    steps = out.journey.steps
    assert steps["assess"].status is StepStatus.DONE
    assert steps["grant"].status is StepStatus.DONE
    assert steps["refuse-review"].status is StepStatus.SKIPPED
    assert steps["survey"].status is StepStatus.WAITING
    assert {e.step for e in out.effects} == {"grant", "survey"}
    assert [t.step for t in out.timers] == ["survey"]


def test_an_ineligible_decision_opens_a_case_instead_of_refusing():
    out = decided(eligible=False)
    steps = out.journey.steps
    assert steps["grant"].status is StepStatus.SKIPPED
    assert steps["refuse-review"].status is StepStatus.WAITING  # until the case exists
    assert "refuse-review" in {e.step for e in out.effects}
    done = advance(FLOW, out.journey, event(EFFECT_COMPLETED, {
        "journey": "j1", "step": "refuse-review", "key": steps["refuse-review"].effect,
        "result": {"case": "c1"}}), NOW)
    assert done.journey.steps["refuse-review"].status is StepStatus.DONE
    assert done.journey.steps["refuse-review"].result == {"case": "c1"}


REVIEWED = moment("""
    moment: reviewed
    trigger: {event: t.start}
    steps:
      - id: review
        open-case: {queue: decision-review, reason: "a refusal", priority: high, wait: true}
      - id: other
        open-case: {queue: work-coach, wait: true}
      - id: award
        after: [review]
        when: steps.review.status == "done" && steps.review.result.outcome == "overturned"
        grant: benefit
""")


def _opened():
    out = start(REVIEWED, "j1", event("t.start", {}), NOW)
    j = out.journey
    for step, case in (("review", "c1"), ("other", "c2")):
        j = advance(REVIEWED, j, event(EFFECT_COMPLETED, {"journey": "j1", "step": step,
                                                          "key": j.steps[step].effect,
                                                          "result": {"case": case}}), NOW).journey
    return j


def resolved(step: str, outcome: str, journey: str = "j1") -> dict:
    return {"case": "c1", "queue": "decision-review", "outcome": outcome, "reason": "checked",
            "officer": "o1", "journey": journey, "step": step}


def test_a_waiting_case_step_keeps_waiting_once_the_case_exists():
    j = _opened()
    assert j.steps["review"].status is StepStatus.WAITING
    assert j.steps["review"].result == {"case": "c1"}


def test_the_case_outcome_finishes_only_its_own_step_and_the_moment_acts_on_it():
    out = advance(REVIEWED, _opened(), event("civic.case.resolved", resolved("review", "overturned")), NOW)
    steps = out.journey.steps
    assert steps["review"].status is StepStatus.DONE
    assert steps["review"].result["outcome"] == "overturned"
    assert steps["other"].status is StepStatus.WAITING  # another case's step is not touched
    assert steps["award"].status is StepStatus.DONE
    assert [e.step for e in out.effects] == ["award"]


def test_an_upheld_review_awards_nothing():
    out = advance(REVIEWED, _opened(), event("civic.case.resolved", resolved("review", "upheld")), NOW)
    assert out.journey.steps["award"].status is StepStatus.SKIPPED
    assert out.effects == []


def test_an_outcome_for_another_journey_is_ignored():
    out = advance(REVIEWED, _opened(), event("civic.case.resolved", resolved("review", "overturned", "j2")), NOW)
    assert out.journey.steps["review"].status is StepStatus.WAITING
    assert not out.changed


def test_a_result_with_the_wrong_key_is_ignored():
    first = started()
    out = advance(FLOW, first.journey, event(EFFECT_COMPLETED, {
        "journey": "j1", "step": "assess", "key": "other", "result": {"outputs": {"eligible": True}}}), NOW)
    assert out.journey.steps["assess"].status is StepStatus.WAITING
    assert not out.changed


def test_a_reply_completes_the_waiting_ask_and_the_next_step_runs():
    j = decided(True).journey
    out = advance(FLOW, j, event("civic.person.answered", {"answers": {"skills": "welding"}}), NOW)
    assert out.journey.steps["survey"].status is StepStatus.DONE
    assert out.journey.steps["survey"].result == {"answers": {"skills": "welding"}}
    assert out.journey.steps["plan"].status is StepStatus.DONE
    assert [e.step for e in out.effects] == ["plan"]


def test_a_passed_deadline_with_continue_times_the_step_out_and_skips_what_needed_the_answer():
    j = decided(True).journey
    timer = j.steps["survey"].timer
    out = advance(FLOW, j, event(TIMER_FIRED, {"journey": "j1", "step": "survey", "timer": timer}), NOW)
    assert out.journey.steps["survey"].status is StepStatus.TIMED_OUT
    assert out.journey.steps["plan"].status is StepStatus.SKIPPED
    assert out.journey.status is JourneyStatus.ACTIVE  # still waiting for its objective
    assert out.journey.awaiting_objective


def test_a_stale_timer_is_ignored_after_the_reply_arrived():
    j = decided(True).journey
    timer = j.steps["survey"].timer
    j = advance(FLOW, j, event("civic.person.answered", {"answers": {}}), NOW).journey
    out = advance(FLOW, j, event(TIMER_FIRED, {"journey": "j1", "step": "survey", "timer": timer}), NOW)
    assert not out.changed
    assert out.journey.steps["survey"].status is StepStatus.DONE


def test_reaching_the_objective_completes_the_journey_and_cancels_pending_steps():
    j = decided(True).journey
    out = advance(FLOW, j, event("t.goal", {}), NOW)
    assert out.journey.status is JourneyStatus.COMPLETED
    assert out.halted
    assert out.journey.steps["survey"].status is StepStatus.CANCELLED
    assert out.journey.steps["plan"].status is StepStatus.CANCELLED
    assert out.journey.outcome["type"] == "t.goal"


def test_the_objective_timer_expires_the_journey():
    j = started().journey
    out = advance(FLOW, j, event(TIMER_FIRED, {"journey": "j1", "step": "objective",
                                               "timer": j.objective_timer}), NOW)
    assert out.journey.status is JourneyStatus.EXPIRED
    assert out.halted


def test_withdrawn_consent_for_the_purpose_cancels_the_journey():
    j = decided(True).journey
    assert not advance(FLOW, j, event("t.withdrawn", {"purpose": "other"}), NOW).halted
    out = advance(FLOW, j, event("t.withdrawn", {"purpose": "support"}), NOW)
    assert out.journey.status is JourneyStatus.CANCELLED
    assert out.halted


def test_a_cancel_request_cancels_the_journey():
    j = decided(True).journey
    out = advance(FLOW, j, event(JOURNEY_CANCEL_REQUESTED, {"journey": "j1", "reason": "moved abroad"}), NOW)
    assert out.journey.status is JourneyStatus.CANCELLED
    assert out.timeline[-1].detail == {"reason": "moved abroad"}


def test_a_dead_lettered_effect_fails_the_journey():
    j = started().journey
    out = advance(FLOW, j, event(EFFECT_DEAD_LETTERED, {"journey": "j1", "step": "assess",
                                                        "reason": "HTTP 400"}), NOW)
    assert out.journey.status is JourneyStatus.FAILED
    assert out.journey.steps["assess"].status is StepStatus.FAILED


def test_a_dead_letter_on_a_step_marked_continue_lets_the_journey_go_on():
    m = moment("""
        moment: tolerant
        trigger: {event: t.start}
        steps:
          - {id: tell, notify: hello, on_failure: continue}
          - {id: after, after: [tell], offer: x}
    """)
    first = start(m, "j1", event("t.start"), NOW)
    assert first.journey.status is JourneyStatus.COMPLETED  # fire-and-forget steps end at once
    m2 = moment("""
        moment: tolerant
        trigger: {event: t.start}
        steps:
          - {id: ask, ask: {person: [x]}, on_failure: continue}
          - {id: after, after: [ask], offer: x}
    """)
    j = start(m2, "j1", event("t.start"), NOW).journey
    out = advance(m2, j, event(EFFECT_DEAD_LETTERED, {"journey": "j1", "step": "ask", "reason": "x"}), NOW)
    assert out.journey.steps["ask"].status is StepStatus.FAILED
    assert out.journey.steps["after"].status is StepStatus.DONE
    assert out.journey.status is JourneyStatus.COMPLETED


def test_deadline_fail_and_cancel_actions():
    for action, status in (("fail", JourneyStatus.FAILED), ("cancel", JourneyStatus.CANCELLED)):
        m = moment(f"""
            moment: strict
            trigger: {{event: t.start}}
            steps:
              - id: partner
                share: {{with: jobmatch, purpose: p, attributes: [a], reply: t.reply,
                         deadline: PT2M, on_timeout: {action}}}
        """)
        j = start(m, "j1", event("t.start"), NOW).journey
        timer = j.steps["partner"].timer
        out = advance(m, j, event(TIMER_FIRED, {"journey": "j1", "step": "partner", "timer": timer}), NOW)
        assert out.journey.status is status


def test_a_wait_step_ends_when_its_timer_fires():
    m = moment("""
        moment: pause
        trigger: {event: t.start}
        steps:
          - {id: rest, wait: P3D}
          - {id: nudge, after: [rest], notify: nudge}
    """)
    out = start(m, "j1", event("t.start"), NOW)
    assert out.timers[0].due_at == NOW + timedelta(days=3)
    out = advance(m, out.journey, event(TIMER_FIRED, {"journey": "j1", "step": "rest",
                                                      "timer": out.timers[0].id}), NOW)
    assert out.journey.status is JourneyStatus.COMPLETED
    assert [e.step for e in out.effects] == ["nudge"]


def test_a_finished_journey_ignores_later_events():
    j = decided(True).journey
    done = advance(FLOW, j, event("t.goal"), NOW).journey
    out = advance(FLOW, done, event("civic.person.answered", {"answers": {}}), NOW)
    assert not out.changed and not out.effects


def test_advance_does_not_change_the_journey_it_was_given():
    first = started()
    before = first.journey.state()
    advance(FLOW, first.journey, event("t.goal"), NOW)
    assert first.journey.state() == before


def test_journey_state_round_trips():
    from civicmoments.domain.journeys import Journey

    j = decided(True).journey
    again = Journey.from_state(id=j.id, moment=j.moment, person=j.person, status=j.status.value,
                               version=j.version, started_at=j.started_at, updated_at=j.updated_at,
                               state=j.state())
    assert again == j


def test_effects_carry_the_retry_policy_declared_on_the_step():
    m = moment("""
        moment: retrying
        trigger: {event: t.start}
        steps:
          - {id: tell, notify: hello, retry: {attempts: 3, backoff: PT10S}}
    """)
    (effect,) = start(m, "j1", event("t.start"), NOW).effects
    assert (effect.max_attempts, effect.backoff_seconds) == (3, 10.0)
    assert effect.key == "j1:tell"
