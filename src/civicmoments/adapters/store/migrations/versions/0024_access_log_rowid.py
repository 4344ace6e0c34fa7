"""on SQLite, the access log is kept in the order of its entries: seq becomes the table's own row id

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30

A ``BIGINT`` primary key is not SQLite's row id, so every entry went into three trees: the
table, its own unique index on ``seq`` and the person's index. As ``INTEGER PRIMARY KEY`` the
entry number is the row id: the table is one tree in the order of the chain, the unique index
goes, and reading the head or verifying in order follows the table itself. The rows, the
person's index and the insights trigger are kept as they were. PostgreSQL is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

_COLUMNS = "seq, prev, hash, body, person_id"


def _rebuild(seq_type: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    keep = [r[0] for r in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'access_log' AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type")]  # the person's index, then the triggers
    op.execute(f"CREATE TABLE access_log_new (seq {seq_type} NOT NULL, prev VARCHAR(64) NOT NULL, "
               "hash VARCHAR(64) NOT NULL, body JSON NOT NULL, person_id VARCHAR(36), PRIMARY KEY (seq))")
    op.execute(f"INSERT INTO access_log_new ({_COLUMNS}) SELECT {_COLUMNS} FROM access_log ORDER BY seq")
    op.execute("DROP TABLE access_log")
    op.execute("ALTER TABLE access_log_new RENAME TO access_log")
    for sql in keep:
        op.execute(sql)


def upgrade() -> None:
    _rebuild("INTEGER")


def downgrade() -> None:
    _rebuild("BIGINT")
