"""The case lifecycle, pure: statuses, due dates, versions, outcomes and the staff policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from civicmoments.domain import cases as c
from civicmoments.domain.staff import Officer
from civicmoments.packs import load_pack
from civicmoments.packs.cases import load_policy, load_queues
from civicmoments.packs.yamlmap import PackError

from ..conftest import UK_PACK
from .helpers import NOW

REVIEW = c.Queue("decision-review", "Review", "employment-department", timedelta(days=5),
                 ("decision-maker",), ("upheld", "overturned", "evidence-requested"))
COACH = c.Queue("work-coach", "Coach", "employment-department", timedelta(days=2), ("work-coach",),
                ("contacted", "done", "unreachable"))


def opened(**kw) -> c.Case:
    return c.open_case(REVIEW, "c1", "p1", "refused", NOW, journey="j1", step="review", **kw)


def test_a_new_case_is_open_and_due_after_the_queues_service_level():
    case = opened(priority="high")
    assert case.status is c.CaseStatus.OPEN
    assert case.due_at == NOW + timedelta(days=5)
    assert case.version == 1
    assert [e.action for e in case.timeline] == ["opened"]


def test_an_unknown_priority_is_refused():
    with pytest.raises(c.InvalidCaseRequestError, match="priority"):
        opened(priority="whenever")


def test_each_action_moves_the_version_on_and_adds_a_timeline_line():
    case, _ = c.assign(opened(), "o1", "o1", 1, NOW)
    case, _ = c.note(case, "o1", "called, no answer", 2, NOW)
    case, _ = c.wait_on(case, "o1", "person", 3, NOW)
    assert case.status is c.CaseStatus.WAITING_ON_PERSON and case.version == 4
    case, _ = c.resolve(case, REVIEW, "o1", "overturned", "contributions were missed", 4, NOW)
    assert case.status is c.CaseStatus.RESOLVED and case.resolved_by == "o1"
    assert [e.action for e in case.timeline] == ["opened", "assigned", "note", "waiting", "resolved"]
    assert case.notes == [{"at": "2026-01-05T09:00:00Z", "officer": "o1", "text": "called, no answer"}]
    assert c.resolved_event(case) == {"case": "c1", "queue": "decision-review", "outcome": "overturned",
                                      "reason": "contributions were missed", "officer": "o1",
                                      "journey": "j1", "step": "review"}


def test_a_stale_version_is_a_conflict_carrying_the_current_state():
    case, _ = c.assign(opened(), "o1", "o1", 1, NOW)
    with pytest.raises(c.CaseVersionConflictError) as caught:
        c.resolve(case, REVIEW, "o2", "upheld", "fine", 1, NOW)
    assert caught.value.extra["current"]["assignee"] == "o1"
    assert caught.value.extra["current"]["version"] == 2


def test_resolving_twice_names_who_resolved_it_and_when():
    case, _ = c.resolve(opened(), REVIEW, "o1", "upheld", "the rules were right", 1, NOW)
    with pytest.raises(c.CaseAlreadyResolvedError) as caught:
        c.resolve(case, REVIEW, "o2", "overturned", "no", 2, NOW + timedelta(hours=1))
    assert caught.value.extra["resolved_by"] == "o1"
    assert caught.value.extra["resolved_at"] == "2026-01-05T09:00:00Z"
    assert "o1" in caught.value.detail


def test_an_outcome_the_queue_does_not_allow_is_refused():
    with pytest.raises(c.OutcomeNotAllowedError) as caught:
        c.resolve(opened(), REVIEW, "o1", "contacted", "x", 1, NOW)
    assert caught.value.status == 422 and "overturned" in caught.value.extra["allowed"]


def test_a_note_over_the_limit_is_refused_and_an_empty_one_too():
    with pytest.raises(c.NoteTooLongError):
        c.note(opened(), "o1", "x" * (c.NOTE_LIMIT + 1), 1, NOW)
    with pytest.raises(c.InvalidCaseRequestError):
        c.note(opened(), "o1", "   ", 1, NOW)


def test_a_note_on_a_resolved_case_is_kept():
    case, _ = c.resolve(opened(), REVIEW, "o1", "upheld", "right", 1, NOW)
    case, _ = c.note(case, "o2", "the person called about it", 2, NOW)
    assert case.notes[-1]["text"] == "the person called about it"


def test_the_first_reviewer_may_not_decide_the_reconsideration():
    mr = c.Queue("mandatory-reconsideration", "MR", "employment-department", timedelta(days=14),
                 ("decision-maker",), ("upheld", "overturned"))
    case = c.open_case(mr, "c2", "p1", "asked", NOW, data={"first_reviewer": "o1"})
    with pytest.raises(c.SameReviewerError):
        c.resolve(case, mr, "o1", "upheld", "still right", 1, NOW)
    case, _ = c.resolve(case, mr, "o2", "upheld", "still right", 1, NOW)
    assert case.resolved_by == "o2"


def test_referring_moves_the_case_to_the_other_queue_and_restarts_its_clock():
    fares = c.Queue("fare-dispute", "Fares", "metro-transit", timedelta(days=10), ("agency-partner",),
                    ("accepted", "rejected"))
    case, _ = c.assign(opened(), "o1", "o1", 1, NOW)
    case, entry = c.refer(case, fares, "o1", "the fare was charged on a free day", 2, NOW + timedelta(days=1))
    assert (case.queue, case.organisation, case.assignee, case.status) == \
        ("fare-dispute", "metro-transit", None, c.CaseStatus.OPEN)
    assert case.due_at == NOW + timedelta(days=11)
    assert entry.detail["from"] == "decision-review"


# -- the policy ---------------------------------------------------------------------------------
POLICY = load_pack(UK_PACK).policy


def officer(*roles: str, org: str = "employment-department") -> Officer:
    return Officer("o", "s", "Officer", org, roles)


@pytest.mark.parametrize(("roles", "org", "action", "queue", "allowed"), [
    (("work-coach",), "employment-department", "resolve", "work-coach", True),
    (("work-coach",), "employment-department", "resolve", "decision-review", False),
    (("work-coach",), "employment-department", "see", "decision-review", False),
    (("decision-maker",), "employment-department", "resolve", "decision-review", True),
    (("decision-maker",), "metro-transit", "resolve", "decision-review", False),
    (("decision-maker",), "employment-department", "assign", "decision-review", False),
    (("team-leader",), "employment-department", "assign", "work-coach", True),
    (("team-leader",), "employment-department", "see", "fare-dispute", False),
    (("auditor",), "employment-department", "see", "fare-dispute", True),
    (("auditor",), "employment-department", "act", "work-coach", False),
    (("agency-partner",), "metro-transit", "resolve", "fare-dispute", True),
    (("agency-partner",), "metro-transit", "see", "work-coach", False),
    (("agency-partner",), "employment-department", "see", "fare-dispute", False),
    (("work-coach",), "employment-department", "see", "no-such-queue", False),
])
def test_the_policy_matrix(roles, org, action, queue, allowed):
    assert POLICY.allows(officer(*roles, org=org), action, queue) is allowed


def test_queues_and_roles_files_report_their_line(tmp_path):
    f = tmp_path / "queues.yaml"
    f.write_text("queues:\n  review:\n    organisation: x\n    service_level: P1M\n    roles: [a]\n"
                 "    outcomes: [done]\n")
    with pytest.raises(PackError, match=r"queues.yaml:4: .*years and months"):
        load_queues(f)
    f.write_text("queues:\n  review:\n    organisation: x\n    service_level: P1D\n    roles: [a]\n"
                 "    outcomes: [done]\n    colour: red\n")
    with pytest.raises(PackError, match=r"queues.yaml:7: unknown key 'colour'"):
        load_queues(f)
    f.write_text("queues:\n  review:\n    organisation: x\n    service_level: P1D\n    roles: [a]\n"
                 "    outcomes: [done]\n")
    roles = tmp_path / "roles.yaml"
    roles.write_text("roles:\n  a:\n    actions: [see, fly]\n    queues: '*'\n")
    with pytest.raises(PackError, match=r"roles.yaml:3: action 'fly'"):
        load_policy(roles, load_queues(f))
    roles.write_text("roles:\n  b:\n    actions: [see]\n    queues: '*'\n")
    with pytest.raises(PackError, match="names role 'a'"):
        load_policy(roles, load_queues(f))
