"""Every area's measures read from the store's own tables, on SQLite and PostgreSQL: 20 journeys
written row by row, so each figure below can be worked out by hand (unit costs from
packs/uk/insights.yaml: text 2p, letter 80p, 15 minutes an action at 3000p an hour, 5p a share)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from civicmoments.adapters.store.schema import (
    access_log,
    case_timeline,
    cases,
    consents,
    eligibility_state,
    journey_groups,
    journeys,
    message_history,
    messages,
    outbox,
    timeline,
)
from civicmoments.domain.insights import Suppressed

from ..conftest import make_app


def populate(app) -> None:
    """p00..p19, one job-loss journey each. The first ten: online, a text, back in work after
    10 days, a zero-touch award, a correction asked for and a disclosure refused by the gate. The
    other ten: not online, a letter, an award after their answers, a decision-review case with two
    officer actions (five overturned). Fifteen gave consent, five refused; all twenty eligible."""
    start = app.clock.now()
    rows: dict = {t: [] for t in (journeys, timeline, messages, message_history, outbox, cases, case_timeline,
                                  consents, access_log, eligibility_state, journey_groups)}
    for i in range(20):
        jid, person, first = f"j{i:02d}", f"p{i:02d}", i < 10
        outcome = ({"duration_s": 10 * 86400.0, "confirmed": {"at": (start + timedelta(days=10)).isoformat()}}
                   if first else None)
        rows[journeys].append({"id": jid, "moment": "job-loss", "person": person,
                               "status": "completed" if first else "active", "version": 1, "started_at": start,
                               "updated_at": start, "state": {"trigger": {}, "steps": {}, "outcome": outcome},
                               "moment_version": "v1", "moment_digest": "0" * 64})
        rows[timeline].append({"journey_id": jid, "at": start, "kind": "step-started", "step": "survey",
                               "detail": {"kind": "ask", "questions": 4}})
        rows[messages].append({"id": f"m{i:02d}", "key": f"m{i:02d}", "person_id": person, "journey_id": jid,
                               "template": "notice-of-assistance", "version": 1, "locale": "en", "purpose": None,
                               "content": "", "needs": {}, "chain": [], "position": 0, "status": "delivered",
                               "attempts": 1, "created_at": start + timedelta(hours=1), "updated_at": start})
        rows[message_history].append({"message_id": f"m{i:02d}", "at": start, "channel": "sms" if first else "letter",
                                      "status": "delivered", "detail": ""})
        for step, kind in (("match", "share"), ("award" if first else "late-award", "grant")):
            rows[outbox].append({"key": f"{jid}:{step}", "journey_id": jid, "person": person, "step": step,
                                 "kind": kind, "payload": {}, "status": "done", "attempts": 1, "max_attempts": 5,
                                 "backoff_seconds": 2.0, "next_attempt_at": start, "created_at": start})
        case = {"id": f"c{i:02d}", "key": f"c{i:02d}", "organisation": "employment-department", "person_id": person,
                "reason": "test", "priority": "normal", "opened_at": start + timedelta(days=1), "due_at": start,
                "version": 1, "data": {}, "tasks": [], "outcome": None}  # every row names every column
        if first:  # a correction the person asked for, on no journey
            rows[cases].append({**case, "queue": "correction", "status": "open", "journey_id": None})
            rows[access_log].append({"seq": i + 1, "prev": "0" * 64, "hash": f"{i:064d}", "person_id": person,
                                     "body": {"outcome": "refused", "person": person}})
        else:
            rows[cases].append({**case, "queue": "decision-review", "status": "resolved", "journey_id": jid,
                                "outcome": "overturned" if i < 15 else "upheld"})
            rows[case_timeline] += [{"case_id": f"c{i:02d}", "at": start, "actor": "officer", "action": a,
                                     "detail": {}} for a in ("note", "resolved")]
        rows[consents].append({"id": f"k{i:02d}", "person_id": person, "purpose": "employment-support",
                               "notice_version": "1", "state": "given" if i < 15 else "refused", "at": start,
                               "channel": "portal"})
        rows[eligibility_state].append({"person_id": person, "service": "jsa-new-style", "eligible": True,
                                        "since": start.date()})
        rows[journey_groups].append({"journey_id": jid, "online": "online" if first else "not-online",
                                     "age_band": "35-49", "region": "Leeds", "language": "en"})
    with app.store.engine.begin() as conn:
        for table, values in rows.items():
            conn.execute(insert(table), values)


def test_every_area_from_the_store_matches_the_hand_worked_value(db_url, clock):
    app = make_app(db_url, clock)
    populate(app)
    report = app.insights.report("job-loss", version="v1")
    assert report["versions"] == {"v1": 20} and report["journeys"] == 20
    impact, exp, eff, trust, take_up = (report["measures"][a] for a in
                                        ("impact", "experience", "efficiency", "trust", "take_up"))
    assert (impact["reached"], impact["reached_rate"], impact["outcome_days_median"], impact["outcome_days_p90"],
            impact["back_in_work_30d_rate"], impact["reached_within_rate"]) == (10, 0.5, 10.0, 10.0, 0.5, 0.5)
    assert exp["first_notice_days_median"] == round(1 / 24, 4)  # an hour
    assert (exp["questions_per_person"], exp["contacts_per_person"], exp["first_channel_rate"]) == (4.0, 1.0, 1.0)
    assert (exp["corrections"], exp["reconsiderations"]) == (10, 0)
    assert eff["zero_touch_rate"] == 0.5  # 10 awards at `award` with no case, of 20
    assert (eff["cases_per_100"], eff["officer_hours"]) == (50.0, 5.0)  # 10 cases; 20 actions of 15 minutes
    # 10 texts x 2p + 10 letters x 80p + 5 hours x 3000p + 20 shares x 5p
    assert (eff["cost_pence"], eff["cost_per_journey_pence"], eff["cost_per_outcome_pence"]) == (15920, 796, 1592)
    assert (trust["consents_given"], trust["gate_refusals"], trust["reviews"]) == (15, 10, 10)
    assert trust["consents_refused"] == Suppressed()  # five people: a cell that is withheld
    assert trust["overturned_rate"] == Suppressed()  # five of ten
    assert take_up == {"eligible": 20, "receiving": 20, "take_up_rate": 1.0}
    split = app.insights.report("job-loss", group="online")["groups"]
    assert split["online"]["people"] == 10 and split["not-online"]["people"] == 10
    assert split["online"]["measures"]["impact"]["reached_rate"] == 1.0  # 10 of 10; a zero complement hides no one
    assert split["not-online"]["measures"]["impact"]["reached"] == 0
    assert split["not-online"]["flags"] == ["objective reached 0% against 100% for everyone else"]
    app.store.close()
