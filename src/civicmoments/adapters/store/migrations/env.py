"""Alembic environment: the URL comes from the caller, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from civicmoments.adapters.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")


def run(conn) -> None:
    # A transaction per migration where Alembic runs them (PostgreSQL, see migrate.upgrade): one
    # that builds an index CONCURRENTLY (0025) commits only its own work before the build.
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        run(conn)
