"""Every event type the platform emits or accepts has a consumer: a moment it starts, ends or
resumes, or a named path outside the moments declared in its pack file (``consumer:``)."""

from __future__ import annotations

import re
from pathlib import Path

from civicmoments.domain.events import ENGINE_EVENT_TYPES
from civicmoments.engine.sweep import ELIGIBILITY_CHANGED, MILESTONE_REACHED
from civicmoments.packs.loader import load_pack

from ..conftest import UK_PACK

SRC = Path(__file__).resolve().parents[2] / "src" / "civicmoments"
EVENT_NAME = re.compile(r'"((?:civic|uk)\.[a-z0-9-]+(?:\.[a-z0-9-]+)+)"')
MUST_HAVE_A_MOMENT = ("civic.milestone.reached", "uk.gov.gro.birth-registered", "uk.gov.gro.death-registered",
                      "civic.person.address-changed", "civic.person.bereaved")


def consumed_by_moments(pack) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for m in pack.moments.values():
        names = {m.trigger.event} | {r.event for r in m.cancel_on} | ({m.objective.event} if m.objective else set())
        names |= {s.reply for s in m.steps if s.reply}
        for name in names:
            found.setdefault(name, set()).add(m.id)
    return found


def emitted_by_code() -> set[str]:
    """Event type names written in the source (publish calls and their constants), logger names aside."""
    names = set()
    for file in SRC.rglob("*.py"):
        names |= set(EVENT_NAME.findall(file.read_text()))
    return {n for n in names if n.count(".") >= 2 and not n.startswith(("civic.web.", "civic.api."))}


def test_every_event_type_is_consumed_by_a_moment_or_declared_in_the_pack():
    pack = load_pack(UK_PACK)
    moments = consumed_by_moments(pack)
    orphans = [t for t, et in pack.event_types.items() if t not in moments and not et.consumer]
    assert orphans == [], f"no moment or declared consumer for {orphans}"


def test_the_lifetime_events_start_moments():
    moments = consumed_by_moments(load_pack(UK_PACK))
    for name in MUST_HAVE_A_MOMENT:
        assert moments.get(name), name
    assert moments[MILESTONE_REACHED] >= {"immunisations", "ni-number", "register-to-vote", "provisional-licence"}


def test_the_sweeps_and_the_portals_events_are_in_the_pack_with_a_consumer():
    pack = load_pack(UK_PACK)
    for name in (MILESTONE_REACHED, ELIGIBILITY_CHANGED, "civic.person.correction-requested"):
        assert name in pack.event_types
    assert "correction" in pack.event_types["civic.person.correction-requested"].consumer
    assert "informational" in pack.event_types[ELIGIBILITY_CHANGED].consumer


def test_every_event_type_the_code_emits_is_registered():
    pack = load_pack(UK_PACK)
    loose = sorted(emitted_by_code() - set(pack.event_types) - ENGINE_EVENT_TYPES)
    assert loose == [], f"emitted but not registered in packs/uk/events/: {loose}"
