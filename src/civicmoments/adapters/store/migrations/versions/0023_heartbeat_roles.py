"""each engine's heartbeat says what the process does: all the work, the engine without sending, or only sending

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30

On SQLite, the engines that dispatch events share the people between them by partition, each
taking the partitions of its place among the engines that beat lately; a process that only
sends messages takes none, so the heartbeat now names its role.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('engine_heartbeats') as batch:
        batch.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='all'))


def downgrade() -> None:
    with op.batch_alter_table('engine_heartbeats') as batch:
        batch.drop_column('role')
