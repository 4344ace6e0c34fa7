"""eligibility state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('eligibility_state',
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('eligible', sa.Boolean(), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('person_id', 'service')
    )


def downgrade() -> None:
    op.drop_table('eligibility_state')
