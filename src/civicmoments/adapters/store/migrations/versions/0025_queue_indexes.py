"""the inbox's queue and the timers' index hold pending rows only: an event processed or a timer fired or cancelled leaves them

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01

Every event and timer stayed in its status index for good, under "processed" or "fired": the
indexes grew with the whole history while the queue they serve is the pending rows, and each
event processed moved its entries to another place in two indexes (a deletion and an insertion
each) instead of leaving. Partial indexes (``WHERE status = 'pending'``) keep only the queue: a
row that leaves it costs one deletion per index. Quarantined events get an index of their own
for the quarantine's list, count and replay, which read the old status index.

On PostgreSQL the indexes are built and the old ones dropped ``CONCURRENTLY``: writes to the
inbox and the timers go on meanwhile (see ``migrate.upgrade`` for the turn-taking this needs).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


_NEW = [  # (index, table, columns, the status its rows have)
    ('ix_inbox_pending_partition_seq', 'inbox', ['partition', 'seq'], 'pending'),
    ('ix_inbox_pending_source_seq', 'inbox', ['source', 'seq'], 'pending'),
    ('ix_inbox_quarantined', 'inbox', ['seq'], 'quarantined'),
    ('ix_timers_pending_due', 'timers', ['due_at'], 'pending'),
]
_OLD = [('ix_inbox_status_partition_seq', 'inbox'), ('ix_inbox_status_source_seq', 'inbox'),
        ('ix_timers_status_due', 'timers')]


def _only(status: str) -> dict:
    where = sa.text(f"status = '{status}'")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":  # SQLite: one write transaction, as every migration
        for name, table in _OLD:
            op.drop_index(name, table_name=table)
        for name, table, columns, status in _NEW:
            op.create_index(name, table, columns, **_only(status))
        return
    # PostgreSQL: built CONCURRENTLY, outside a transaction, so intake and the engine go on writing
    # while a large inbox is read (a plain build blocks every insert for as long as it reads). The
    # new indexes before the old ones go, so the queue's looks keep an index. Run again after an
    # interruption, an index already built is kept, and one an interrupted build left behind
    # (invalid) is dropped and built again.
    with op.get_context().autocommit_block():
        for name, table, columns, status in _NEW:
            valid = op.get_bind().exec_driver_sql(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %(name)s AND pg_table_is_visible(c.oid)", {"name": name}).scalar()
            if valid:
                continue
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
            op.create_index(name, table, columns, postgresql_concurrently=True, **_only(status))
        for name, table in _OLD:
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def downgrade() -> None:
    op.drop_index('ix_timers_pending_due', table_name='timers')
    op.create_index('ix_timers_status_due', 'timers', ['status', 'due_at'])
    op.drop_index('ix_inbox_quarantined', table_name='inbox')
    op.drop_index('ix_inbox_pending_source_seq', table_name='inbox')
    op.drop_index('ix_inbox_pending_partition_seq', table_name='inbox')
    op.create_index('ix_inbox_status_source_seq', 'inbox', ['status', 'source', 'seq'])
    op.create_index('ix_inbox_status_partition_seq', 'inbox', ['status', 'partition', 'seq'])
