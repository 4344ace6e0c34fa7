"""A large report streams: it starts a slice at a time, the first people hear within a few
rounds, and a second sender's single event is not held behind it."""

from __future__ import annotations

from sqlalchemy import select

from civicmoments.adapters.store.schema import inbox, messages

from ..conftest import make_app
from ..people import known

BIG, SMALL = "https://big.example/hr", "https://small.example/hr"
LARGE = 24


def job_ended(source: str, person: str, ident: str) -> dict:
    return {"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended", "source": source, "id": ident,
            "subject": person, "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 30,
                                        "class1_contribution_years": 2}}


def notified(app) -> set[str]:
    with app.store.reader.connect() as conn:
        return set(conn.execute(select(messages.c.person_id)
                                .where(messages.c.template == "notice-of-assistance")).scalars())


def started(app, source: str) -> set[str]:
    """The people whose report from ``source`` the dispatcher has taken."""
    with app.store.reader.connect() as conn:
        return set(conn.execute(select(inbox.c.subject)
                                .where(inbox.c.source == source, inbox.c.status != "pending")).scalars())


def test_a_large_report_streams_and_a_second_senders_event_is_not_held_behind_it(db_url, clock):
    app = make_app(db_url, clock, settings={"slice_size": 4, "batch_size": 50, "effect_batch_size": 8})
    try:
        big, _ = app.organisations.add("Big", [BIG], ["uk.gov.dwp.*"])
        small, _ = app.organisations.add("Small", [SMALL], ["uk.gov.dwp.*"])
        staff = [f"big-{i:02}" for i in range(LARGE)]
        for person in staff:
            known(app, person, employer="Big")
        known(app, "solo", employer="Small")
        assert all(r.status == "accepted" for r in app.intake.submit(big, [
            job_ended(BIG, p, f"b{i}") for i, p in enumerate(staff)]))
        (receipt,) = app.intake.submit(small, [job_ended(SMALL, "solo", "s1")])  # after the whole report
        assert receipt.status == "accepted"

        first_notice_started = solo_started = solo_notified = None
        for _ in range(500):
            app.worker.run_once()
            done, taken = notified(app), started(app, BIG)
            if done and first_notice_started is None:
                first_notice_started = len(taken)
            if solo_started is None and started(app, SMALL):
                solo_started = len(taken)
            if solo_notified is None and "solo" in done:
                solo_notified = len(taken)
            if len(done) == LARGE + 1:
                break
        assert notified(app) == {*staff, "solo"}
        # Streaming: the first notices go while most of the report has not been started.
        assert first_notice_started is not None and first_notice_started <= LARGE // 2
        # Fair: the single redundancy joins the second slice (a turn per sender), and its person
        # is told before the large report's last slice is taken.
        assert solo_started is not None and solo_started <= 4
        assert solo_notified is not None and solo_notified < LARGE
    finally:
        app.store.close()


def test_without_slices_the_report_is_taken_whole(db_url, clock):
    app = make_app(db_url, clock, settings={"slice_size": 0, "batch_size": 50, "effect_batch_size": 8})
    try:
        big, _ = app.organisations.add("Big", [BIG], ["uk.gov.dwp.*"])
        staff = [f"big-{i:02}" for i in range(8)]
        for person in staff:
            known(app, person, employer="Big")
        app.intake.submit(big, [job_ended(BIG, p, f"b{i}") for i, p in enumerate(staff)])
        app.worker.run_once()
        assert started(app, BIG) == set(staff)
    finally:
        app.store.close()
