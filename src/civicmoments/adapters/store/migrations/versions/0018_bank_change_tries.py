"""a change of bank details counts the wrong codes entered for it

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bank_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tries', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('bank_changes', schema=None) as batch_op:
        batch_op.drop_column('tries')
