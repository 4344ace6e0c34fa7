"""The case store and service on SQLite and PostgreSQL: idempotent opening, versions, lists, officers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from civicmoments.domain import cases as c


@pytest.fixture
def staff(app):
    o = app.officers
    return {"coach": o.add("Wendy Coach", "sub-wendy", "employment-department", ["work-coach"]),
            "dm": o.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"]),
            "dm2": o.add("Sam Second", "sub-sam", "employment-department", ["decision-maker"]),
            "lead": o.add("Lee Leader", "sub-lee", "employment-department", ["team-leader"]),
            "metro": o.add("Mo Metro", "sub-mo", "metro-transit", ["agency-partner"])}


def test_opening_is_idempotent_on_the_key_and_the_case_reads_back_whole(app):
    a = app.cases.open("decision-review", "p1", "refused", journey="j1", step="review", priority="high",
                       key="j1:review")
    b = app.cases.open("decision-review", "p1", "refused again", key="j1:review")
    assert a.id == b.id and b.reason == "refused"
    got = app.cases.get(a.id)
    assert got.summary() == a.summary()
    assert got.due_at == app.clock.now() + timedelta(days=5)
    assert [e.action for e in got.timeline] == ["opened"]
    with pytest.raises(c.CaseNotFoundError):
        app.cases.get("nope")


def test_open_many_opens_each_key_once(app):
    reqs = [{"queue": "work-coach", "person": f"p{i}", "reason": "", "key": f"k{i}"} for i in range(5)]
    first = app.cases.open_many(reqs)
    again = app.cases.open_many(reqs + [{"queue": "work-coach", "person": "p9", "reason": "", "key": "k9"}])
    assert [x.id for x in again[:5]] == [x.id for x in first]
    assert len(app.cases.list(queue="work-coach")) == 6


def test_every_action_is_on_the_timeline_and_resolving_publishes_the_outcome(app, staff):
    case = app.cases.open("decision-review", "p1", "refused", journey="j1", step="review")
    case = app.cases.assign(case.id, staff["dm"], case.version)
    case = app.cases.note(case.id, staff["dm"], "checked the contributions", case.version)
    case = app.cases.resolve(case.id, staff["dm"], "overturned", "two years were missed", case.version)
    got = app.cases.get(case.id)
    assert [(e.action, e.actor) for e in got.timeline] == [
        ("opened", None), ("assigned", staff["dm"].id), ("note", staff["dm"].id), ("resolved", staff["dm"].id)]
    assert got.status is c.CaseStatus.RESOLVED and got.version == 4
    from sqlalchemy import select

    from civicmoments.adapters.store.schema import inbox
    with app.store.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.subject, inbox.c.data).where(inbox.c.type == "civic.case.resolved")).all()
    assert [(r.subject, r.data) for r in rows] == [("p1", {
        "case": case.id, "queue": "decision-review", "outcome": "overturned", "reason": "two years were missed",
        "officer": staff["dm"].id, "journey": "j1", "step": "review"})]


def test_two_officers_acting_on_one_version_one_wins_and_the_other_gets_a_conflict(app, staff):
    case = app.cases.open("decision-review", "p1", "refused")
    results: list = []

    def act(officer, outcome):
        try:
            results.append(app.cases.resolve(case.id, officer, outcome, "decided", case.version).outcome)
        except c.CaseRuleError as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=act, args=(staff[k], o)) for k, o in (("dm", "upheld"), ("dm2", "overturned"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str)[0] in ("CaseAlreadyResolvedError", "CaseVersionConflictError")
    assert len([r for r in results if r in ("upheld", "overturned")]) == 1
    got = app.cases.get(case.id)
    assert [e.action for e in got.timeline].count("resolved") == 1


def test_a_stale_write_is_refused_by_the_store_even_past_the_domain_check(app, staff):
    case = app.cases.open("work-coach", "p1", "call")
    changed, entry = c.note(case, staff["coach"].id, "first", case.version, app.clock.now())
    app.cases.store.save(changed, case.version, [entry])
    from civicmoments.engine.ports import StaleCaseError
    with pytest.raises(StaleCaseError):
        app.cases.store.save(changed, case.version, [entry])
    assert len(app.cases.get(case.id).notes) == 1


def test_lists_filter_page_by_cursor_and_show_an_officer_only_their_queues(app, staff):
    for i in range(5):
        app.cases.open("work-coach", f"p{i}", "call")
        app.clock.advance(timedelta(minutes=1))
    app.cases.open("decision-review", "p1", "refused")
    app.cases.open("fare-dispute", "p1", "disputed fare")
    first, cursor = app.cases.page(queue="work-coach", limit=2)
    second, cursor2 = app.cases.page(queue="work-coach", limit=2, cursor=cursor)
    third, end = app.cases.page(queue="work-coach", limit=2, cursor=cursor2)
    assert [x.person for x in first + second + third] == ["p0", "p1", "p2", "p3", "p4"] and end is None
    assert {x.queue for x in app.cases.list(officer=staff["coach"])} == {"work-coach"}
    assert {x.queue for x in app.cases.list(officer=staff["metro"])} == {"fare-dispute"}
    assert {x.queue for x in app.cases.list(person="p1")} == {"work-coach", "decision-review", "fare-dispute"}
    with pytest.raises(c.NotPermittedError):
        app.cases.list(queue="decision-review", officer=staff["coach"])
    with pytest.raises(c.InvalidCaseRequestError):
        app.cases.page(cursor="!!not-a-cursor")


def test_acting_outside_ones_queues_or_organisation_is_not_permitted(app, staff):
    case = app.cases.open("decision-review", "p1", "refused")
    for who in ("coach", "metro"):
        with pytest.raises(c.NotPermittedError):
            app.cases.resolve(case.id, staff[who], "upheld", "x", case.version)
    with pytest.raises(c.NotPermittedError):  # a decision maker may take a case, not hand one out
        app.cases.assign(case.id, staff["dm2"], case.version, by=staff["dm"])
    case = app.cases.assign(case.id, staff["dm2"], case.version, by=staff["lead"])
    assert case.assignee == staff["dm2"].id
    with pytest.raises(c.NotPermittedError):  # nor be given to someone who may not act on it
        app.cases.assign(case.id, staff["coach"], case.version, by=staff["lead"])
    assert len(app.cases.get(case.id).timeline) == 2


def test_a_reconsideration_remembers_the_first_reviewer_and_refuses_them(app, staff):
    review = app.cases.open("decision-review", "p1", "refused")
    app.cases.resolve(review.id, staff["dm"], "upheld", "the rules were right", review.version)
    mr = app.cases.open("mandatory-reconsideration", "p1", "the person asked")
    assert mr.data["first_reviewer"] == staff["dm"].id and mr.data["first_review"] == review.id
    with pytest.raises(c.SameReviewerError):
        app.cases.resolve(mr.id, staff["dm"], "upheld", "still right", mr.version)
    done = app.cases.resolve(mr.id, staff["dm2"], "upheld", "still right", mr.version)
    assert done.resolved_by == staff["dm2"].id


def test_a_referral_moves_the_case_to_the_partners_queue(app, staff):
    case = app.cases.open("work-coach", "p1", "fare charged while looking for work")
    case = app.cases.refer(case.id, staff["coach"], "fare-dispute", "please check the fare", case.version)
    assert app.cases.list(officer=staff["metro"])[0].id == case.id
    done = app.cases.resolve(case.id, staff["metro"], "accepted", "refunded", case.version)
    assert [e.action for e in app.cases.get(done.id).timeline] == ["opened", "referred", "resolved"]


def test_officer_tokens_are_stored_hashed_and_authenticate(app, staff):
    from civicmoments.engine.errors import CredentialInvalidError

    token = app.officers.token("Wendy Coach")
    assert app.officers.authenticate(token).id == staff["coach"].id
    secret = token.split("_", 2)[2]
    from sqlalchemy import select

    from civicmoments.adapters.store.schema import officer_tokens
    with app.store.engine.connect() as conn:
        stored = conn.execute(select(officer_tokens.c.secret_hash)).scalars().all()
    assert secret not in stored
    with pytest.raises(CredentialInvalidError):
        app.officers.authenticate(token[:-2] + "xx")
    assert [o.name for o in app.officers.list()][:2] == ["Dara Maker", "Lee Leader"]
