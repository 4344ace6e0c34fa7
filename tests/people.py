"""People the registry knows, for tests that send their life events: an employer may report
only its own staff, so each test person has an ``employer`` fact naming the organisation."""

from __future__ import annotations

from typing import Any

from civicmoments.engine.steps import PLATFORM

# What the rules need to decide New Style JSA; silver, so no decision from them alone is zero-touch.
WORKING = {"date_of_birth": "1996-01-01", "employment_status": "employed",
           "class1_earnings_last_year_pence": 2_500_000, "class1_earnings_year_before_pence": 2_500_000}


def known(app, person: str | None = None, employer: str | None = None, tier: str = "silver",
          **facts: Any) -> str:
    """A person in the registry (with the given id, or a new one), with ``WORKING`` facts, the
    ``employer`` named and any other facts given; returns the person's id."""
    if person is None:
        person = app.registry.add_person()
    elif not app.registry.store.existing([person]):
        app.registry.store.add_people([{"id": person, "created_at": app.clock.now(), "merged_into": None}], [])
    values = {**WORKING, **({"employer": employer} if employer else {}), **facts}
    app.registry.record_many(PLATFORM, [(person, [{"attribute": k, "value": v, "basis": "register", "tier": tier}
                                                  for k, v in values.items()])])
    return person
