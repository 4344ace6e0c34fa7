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
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def _only(status: str) -> dict:
    where = sa.text(f"status = '{status}'")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    op.drop_index('ix_inbox_status_partition_seq', table_name='inbox')
    op.drop_index('ix_inbox_status_source_seq', table_name='inbox')
    op.create_index('ix_inbox_pending_partition_seq', 'inbox', ['partition', 'seq'], **_only('pending'))
    op.create_index('ix_inbox_pending_source_seq', 'inbox', ['source', 'seq'], **_only('pending'))
    op.create_index('ix_inbox_quarantined', 'inbox', ['seq'], **_only('quarantined'))
    op.drop_index('ix_timers_status_due', table_name='timers')
    op.create_index('ix_timers_pending_due', 'timers', ['due_at'], **_only('pending'))


def downgrade() -> None:
    op.drop_index('ix_timers_pending_due', table_name='timers')
    op.create_index('ix_timers_status_due', 'timers', ['status', 'due_at'])
    op.drop_index('ix_inbox_quarantined', table_name='inbox')
    op.drop_index('ix_inbox_pending_source_seq', table_name='inbox')
    op.drop_index('ix_inbox_pending_partition_seq', table_name='inbox')
    op.create_index('ix_inbox_status_source_seq', 'inbox', ['status', 'source', 'seq'])
    op.create_index('ix_inbox_status_partition_seq', 'inbox', ['status', 'partition', 'seq'])
