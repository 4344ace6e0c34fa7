"""An adverse change holds an award's payments (not cancels them) until a person decides; an overturn
pays the arrears, an upheld change ends the award from the reported day."""

from __future__ import annotations

from datetime import date

from .test_adverse_changes import messages, new_job, resolve, world  # noqa: F401 - the fixture

ACCOUNT = "20-00-00 55779911"


def award(app, abe):
    from civicmoments.engine.steps import PLATFORM

    app.registry.record_many(PLATFORM, [(abe, [{"attribute": "bank_account", "value": ACCOUNT, "basis": "register",
                                                "tier": "gold"}, {"attribute": "date_of_birth", "value": "1984-05-02",
                                                                  "basis": "register", "tier": "gold"}])])
    return app.payments.award(abe, "jsa-new-style", "grant-abe", start=date(2026, 11, 9))


def statuses(app, abe):
    return [(p["start_on"].isoformat(), p["status"]) for p in app.payments.store.payments_of(person=abe)]


def test_a_reported_new_job_holds_payments_from_its_start_and_an_overturn_pays_the_arrears(world):  # noqa: F811
    client, app, tokens, abe = world
    award(app, abe)
    new_job(client, tokens, abe, day="2026-12-01")
    app.worker.drain()
    held = [s for s in statuses(app, abe) if s[1] == "held"]
    assert held and held[0][0] == "2026-11-23"  # the fortnight that includes 1 December, and all after it
    assert ("2026-11-09", "scheduled") in statuses(app, abe)
    assert app.payments.run(date(2026, 12, 7))["payments"] == 1  # only the fortnight before the change
    (case,) = app.cases.list(queue="decision-review", person=abe)
    resolve(client, tokens, case, "overturned", "the report named the wrong person")
    app.worker.drain()
    assert not [s for s in statuses(app, abe) if s[1] == "held"]
    run = app.payments.run(date(2026, 12, 21))
    assert (run["payments"], run["total"]) == (2, 4 * 9555)  # the held fortnight as arrears, and the next one


def test_an_upheld_change_ends_the_award_the_day_before_the_new_job_and_pays_the_days_before(world):  # noqa: F811
    client, app, tokens, abe = world
    a = award(app, abe)
    new_job(client, tokens, abe, day="2026-12-01")
    app.worker.drain()
    (case,) = app.cases.list(queue="decision-review", person=abe)
    resolve(client, tokens, case, "upheld", "payroll shows the new job from 1 December")
    app.worker.drain()
    ended = app.payments.store.award(a["id"])
    assert ended["status"] == "stopped" and ended["end_on"] == date(2026, 11, 30)
    live = [p for p in app.payments.store.payments_of(person=abe) if p["status"] != "cancelled"]
    assert [(p["start_on"], p["end_on"], p["amount"]) for p in live] == [
        (date(2026, 11, 9), date(2026, 11, 22), 2 * 9555), (date(2026, 11, 23), date(2026, 11, 30), 10920)]
    assert round(9555 * 8 / 7) == 10920
    run = app.payments.run(date(2026, 12, 7))
    assert (run["payments"], run["total"]) == (2, 2 * 9555 + 10920)
