"""The kept profile projection equals the profile computed from the facts, on SQLite and
PostgreSQL, after any sequence of writes, merges, unmerges and deletions (retention)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from civicmoments.adapters.store.retention import RetentionStore
from civicmoments.adapters.store.schema import facts, profile_rules, profiles
from civicmoments.domain import people as P
from civicmoments.domain.clock import FakeClock

from ..conftest import make_app

AT = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
# An ordinary attribute, a newest-wins one (phone) and a sensitive one (stored encrypted).
ATTRIBUTES = {"occupation": "fitter", "phone": "+447700900123", "bank_account": "20-00-00 12345678"}

write = st.tuples(st.just("write"), st.integers(0, 3), st.sampled_from(sorted(ATTRIBUTES)),
                  st.sampled_from(["gold", "silver", "bronze"]), st.integers(0, 2), st.integers(0, 1))
merge = st.tuples(st.just("merge"), st.integers(0, 3), st.integers(0, 3))
unmerge = st.tuples(st.just("unmerge"), st.integers(0, 5))
forget = st.tuples(st.just("delete"), st.integers(0, 30))
actions = st.lists(st.one_of(write, write, merge, unmerge, forget), min_size=1, max_size=25)


def from_facts(app, person: str) -> dict[str, P.Fact]:
    return P.profile(app.registry.store.facts_of([person])[person], app.registry._newest_wins)


def assert_kept(app, persons: list[str]) -> None:
    kept = app.registry.store.profile_facts(persons)
    for person in persons:
        assert kept[person] == from_facts(app, person), person


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def kept_app(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('projection') / 'civic.db'}"
    else:
        url = request.getfixturevalue("pg_module_url")
    app = make_app(url, FakeClock())
    yield app
    app.store.close()


@pytest.fixture(scope="module")
def pg_module_url(pg_admin):
    import secrets

    from sqlalchemy import create_engine, text

    name = f"civic_test_{secrets.token_hex(6)}"
    admin = create_engine(pg_admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{pg_admin.rpartition('/')[0]}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
@example(steps=[("write", 1, "occupation", "gold", 0, 0), ("merge", 0, 1), ("merge", 2, 1)])  # merged elsewhere
@example(steps=[("write", 1, "phone", "gold", 1, 0), ("write", 0, "phone", "bronze", 2, 0), ("merge", 0, 1),
                ("unmerge", 0), ("delete", 1)])
def test_the_kept_projection_equals_the_projection_from_facts(kept_app, steps):
    app = kept_app
    persons = [app.registry.add_person() for _ in range(4)]
    retention = RetentionStore(app.store.engine, app.store.reader, app.registry.store.projection)
    merges: list[str] = []
    for step in steps:
        if step[0] == "write":
            _, who, attribute, tier, hours, later = step
            app.registry.record_many(None, [(persons[who], [{
                "attribute": attribute, "value": f"{ATTRIBUTES[attribute][:-1]}{len(steps) % 10}", "tier": tier,
                "observed_at": (AT + timedelta(hours=hours)).isoformat(),
                "valid_from": (AT + timedelta(hours=hours + later)).isoformat()}])])
        elif step[0] == "merge" and step[1] != step[2]:
            merges.append(app.resolver.merge(persons[step[1]], persons[step[2]], 95.0, "property test"))
        elif step[0] == "unmerge" and merges:
            app.resolver.unmerge(merges[step[1] % len(merges)])
        elif step[0] == "delete":
            with app.store.reader.connect() as conn:
                seqs = conn.execute(select(facts.c.seq).where(facts.c.person_id.in_(persons))
                                    .order_by(facts.c.seq)).scalars().all()
            if seqs:
                retention.delete_facts([seqs[step[1] % len(seqs)]])
        assert_kept(app, persons)
    pages = {p: v for part in app.registry.store.profile_batches(1000) for p, v in part.items() if p in persons}
    for person in pages:  # the bulk read: everyone not merged into another record
        assert pages[person] == {a: [f.value, f.tier.value, f.source] for a, f in from_facts(app, person).items()}


def test_profiles_mask_and_reveal_as_before_from_the_projection(app):
    person = app.registry.add_person()
    other = app.registry.add_person()
    app.registry.record(None, person, [{"attribute": "bank_account", "value": "20-00-00 12345678"}])
    app.resolver.merge(other, person, 95.0, "same person")
    shown = app.registry.profiles([other], reveal=["bank_account"])[other]["bank_account"]
    assert shown.value == "20-00-00 12345678" and shown.person == person  # decrypted with its own record's id
    assert app.registry.profiles([other])[other]["bank_account"].value == "[sensitive]"


def test_a_change_of_newest_wins_rule_reprojects_the_attribute(app):
    person = app.registry.add_person()
    app.registry.record(None, person, [{"attribute": "phone", "value": "+447700900111", "tier": "gold",
                                        "observed_at": AT.isoformat()}])
    app.registry.record(None, person, [{"attribute": "phone", "value": "+447700900222", "tier": "bronze",
                                        "observed_at": (AT + timedelta(days=1)).isoformat()}])
    store = app.registry.store
    assert store.profile_facts([person])[person]["phone"].value == "+447700900222"  # newest wins
    assert store.keep_profiles(set()) == ["email", "phone"]  # a pack where the tier decides
    assert store.profile_facts([person])[person]["phone"].value == "+447700900111"
    assert store.keep_profiles(set()) == []
    assert store.keep_profiles(app.registry._newest_wins) == ["email", "phone"]
    assert store.profile_facts([person])[person]["phone"].value == "+447700900222"
    with app.store.reader.connect() as conn:
        assert set(conn.execute(select(profile_rules.c.attribute)).scalars()) == {"email", "phone"}


def test_the_migration_back_fills_the_projection_from_facts(db_url, clock):
    """Facts written before the projection existed are projected by the migration's back-fill."""
    from civicmoments.adapters.store.migrate import downgrade, upgrade

    app = make_app(db_url, clock)
    survivor, merged = app.registry.add_person(), app.registry.add_person()
    for who, value, tier in ((survivor, "fitter", "silver"), (merged, "welder", "gold"), (merged, "cook", "bronze")):
        app.registry.record(None, who, [{"attribute": "occupation", "value": value, "tier": tier}])
    app.resolver.merge(survivor, merged, 95.0, "same person")
    expected = {p: app.registry.store.profile_facts([p])[p] for p in (survivor, merged)}
    downgrade(app.store.engine, "0015")
    upgrade(app.store.engine)
    app.registry.store.keep_profiles(app.registry._newest_wins)
    assert {p: app.registry.store.profile_facts([p])[p] for p in (survivor, merged)} == expected
    assert expected[survivor]["occupation"].value == "welder"
    with app.store.engine.begin() as conn:  # emptied by hand: nothing reads the facts table instead
        conn.execute(delete(profiles))
    assert app.registry.profiles([survivor])[survivor] == {}
    app.store.close()
