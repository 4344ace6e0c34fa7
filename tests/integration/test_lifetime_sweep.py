"""Growing up from the sweep: a population aged across every milestone gets the right journeys and
messages exactly once, a second sweep on the same day starts nothing, and declining an offer
stops its reminders."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from civicmoments.cli import run_sweep

from ..conftest import make_app
from ..people import known

DAY = date(2026, 1, 5)  # the test clock's day
BABIES = {"8 weeks": "2025-11-10", "12 weeks": "2025-10-13", "16 weeks": "2025-09-15", "1 year": "2025-01-05",
          "18 months": "2024-07-05", "3 years 4 months": "2022-09-05"}
TEENS = {  # name: (date of birth, nation, the moments their milestones start)
    "learner": ("2010-04-05", None, {"ni-number", "provisional-licence"}),
    "welsh 14": ("2012-01-05", "wales", {"register-to-vote"}),
    "scottish 14": ("2012-01-05", "scotland", {"register-to-vote"}),
    "english 16": ("2010-01-05", None, {"register-to-vote"}),
    "english 14": ("2012-01-05", None, set()),  # registers at 16 in England
    "english 15": ("2011-01-05", None, set()),
}
TEMPLATE = {"immunisations": "immunisation-due", "ni-number": "ni-number-letter",
            "register-to-vote": "register-to-vote", "provisional-licence": "provisional-licence"}


@pytest.fixture
def town(sqlite_url, clock):
    app = make_app(sqlite_url, clock)
    people = {}
    for age, born in BABIES.items():
        parent = known(app, tier="gold", given_name="Pat", date_of_birth="1990-05-01", email="pat@example.org")
        baby = known(app, tier="gold", given_name="Baby", date_of_birth=born)
        home = app.registry.join_household(None, parent, "parent")
        app.registry.join_household(home, baby, "child")
        people[age] = (parent, baby)
    for name, (born, nation, _) in TEENS.items():
        facts = {"nation": nation} if nation else {}
        people[name] = known(app, tier="gold", given_name="Teen", date_of_birth=born, email="t@example.org", **facts)
    yield app, people
    app.store.close()


def everything(app, persons):
    journeys = [(j.person, j.moment) for p in persons for j in app.store.journeys_for(p, limit=50)]
    messages = [(p, m["template"]) for p in persons for m in app.messenger.of_person(p)]
    return journeys, messages


def test_a_population_across_every_milestone_gets_each_journey_and_message_once(town):
    app, people = town
    first = run_sweep(app, DAY, show_progress=False)
    app.worker.drain()
    persons = [p for v in people.values() for p in (v if isinstance(v, tuple) else (v,))]
    journeys, messages = everything(app, persons)
    expected = [(people[age][0], "immunisations") for age in BABIES]
    expected += [(people[n], m) for n, (_, _, ms) in TEENS.items() for m in ms]
    assert Counter(journeys) == Counter(expected)
    assert Counter(messages) == Counter((p, TEMPLATE[m]) for p, m in expected)
    assert not any(p == baby for _, baby in (people[a] for a in BABIES) for p, _ in messages)  # to the parent
    assert first["milestones"] >= len(expected)
    again = run_sweep(app, DAY, show_progress=False)
    app.worker.drain()
    assert (again["milestones"], again["eligibility"]) == (0, 0)
    assert everything(app, persons) == (journeys, messages)


def test_the_vaccination_message_names_the_day_it_is_due(town):
    app, people = town
    run_sweep(app, DAY, show_progress=False)
    app.worker.drain()
    parent = people["8 weeks"][0]
    (m,) = [m for m in app.messenger.of_person(parent, reveal=True) if m["template"] == "immunisation-due"]
    assert "5 January 2026" in m["content"]["long"]


def test_declining_an_offer_stops_the_reminders_and_silence_gets_one_reminder(town):
    app, people = town
    run_sweep(app, DAY, show_progress=False)
    app.worker.drain()
    wales, england = people["welsh 14"], people["english 16"]
    app.store.publish("civic.offer.answered", wales, {"service": "register-to-vote", "answer": "declined"},
                      app.clock.now())
    app.worker.drain()
    app.clock.advance(timedelta(days=29))
    app.worker.drain()
    app.worker.drain()
    sent = Counter((p, m["template"]) for p in (wales, england) for m in app.messenger.of_person(p))
    assert sent[(wales, "register-to-vote")] == 1  # declined: no reminder
    assert sent[(england, "register-to-vote")] == 2  # no answer: one reminder, then nothing
    (j,) = app.store.journeys_for(wales)
    assert j.status.value == "completed" and j.steps["reminder"].status.value == "skipped"
