"""Shared fixtures: real databases (SQLite files and PostgreSQL), packs and clocks.

PostgreSQL is found at CIVIC_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
Locally a missing server skips its tests with a message; under CI=true it fails them.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from civicmoments.bootstrap import App, build
from civicmoments.domain.clock import FakeClock
from civicmoments.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
UK_PACK = ROOT / "packs" / "uk"
ENGINE_PACK = Path(__file__).parent / "packs" / "engine"
# Keys for the test run only: made fresh, never stored.
TEST_KEYS = {
    "CIVIC_PSEUDONYM_KEYS": f"1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
    "CIVIC_DATA_KEYS": f"1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
    "CIVIC_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
}
PG_ADMIN = os.environ.get("CIVIC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# Each slow suite has its marker (from its folder) and a time budget per test, in seconds;
# `make test-fast` leaves the marked suites out.
SUITES = {"browser": 300, "e2e": 300, "slow": 600, "bench": 600, "fuzz": 900, "scaleout": 540}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.parent.name
        if folder in SUITES and item.get_closest_marker(folder) is None:
            item.add_marker(getattr(pytest.mark, folder))
        budget = min((SUITES[name] for name in SUITES if item.get_closest_marker(name)), default=None)
        if budget is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(budget))


def _sqlalchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def service_missing(what: str) -> None:
    """Skip locally; under CI every service must be there, so fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def pg_admin() -> str:
    try:
        engine = create_engine(_sqlalchemy(PG_ADMIN))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        service_missing(f"PostgreSQL at {PG_ADMIN} ({type(exc).__name__})")
    return PG_ADMIN


@pytest.fixture
def pg_url(pg_admin: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"civic_test_{secrets.token_hex(6)}"
    admin = create_engine(_sqlalchemy(pg_admin), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = pg_admin.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: str) -> Iterator[str]:
    """A PostgreSQL database with every migration applied, made once per test process (each
    pytest-xdist worker has its own) for ``db_url`` to copy: copying it is much quicker than
    migrating. Only the schema: rows such as the partitions are the app's to add."""
    from civicmoments.adapters.store.migrate import upgrade

    name = f"civic_template_{secrets.token_hex(6)}"
    admin = create_engine(_sqlalchemy(pg_admin), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = pg_admin.rpartition("/")
    engine = create_engine(_sqlalchemy(f"{base}/{name}"))
    upgrade(engine)
    engine.dispose()  # a template must have no connections when it is copied
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_migrated_url(pg_admin: str, pg_template: str) -> Iterator[str]:
    """A PostgreSQL database of its own for one test, with every migration applied (a copy of
    ``pg_template``)."""
    name = f"civic_test_{secrets.token_hex(6)}"
    admin = create_engine(_sqlalchemy(pg_admin), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    base, _, _ = pg_admin.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'civic.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once per test process, for ``db_url`` to copy."""
    from civicmoments.adapters.store.migrate import upgrade

    file = tmp_path_factory.mktemp("template") / "civic.db"
    engine = create_engine(f"sqlite:///{file}")
    upgrade(engine)
    engine.dispose()  # the last connection closes: nothing is left in a write-ahead log
    return file


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of the test's own with every migration applied, copied from a template: a SQLite
    file, or a PostgreSQL database (the app migrates it to the same schema again, which changes
    nothing; ``test_store_contract`` checks the schema)."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "civic.db")
        return f"sqlite:///{tmp_path / 'civic.db'}"
    return request.getfixturevalue("pg_migrated_url")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_app(url: str, clock, pack: Path = UK_PACK, settings: dict | None = None, **kwargs) -> App:
    """An App on a real database with the test keys; ``settings`` adds or overrides settings."""
    # A data folder of its own (checkpoint copies); the portal only with the demo identity provider,
    # as outside demo mode it needs a real one.
    extra = {"data_dir": Path(tempfile.mkdtemp(prefix="civic-data-")),
             "portal": bool((settings or {}).get("demo_mode")), **(settings or {})}
    settings = Settings(database_url=url, pack_dir=pack, effects_url=kwargs.pop("effects_url", None),
                        idle_sleep_seconds=0.01, pseudonym_keys=TEST_KEYS["CIVIC_PSEUDONYM_KEYS"],
                        data_keys=TEST_KEYS["CIVIC_DATA_KEYS"], audit_signing_key=TEST_KEYS["CIVIC_AUDIT_SIGNING_KEY"],
                        **extra)
    return build(settings, clock=clock, **kwargs)


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[App]:
    built = make_app(db_url, clock)
    yield built
    built.store.close()
