"""travel tokens and chargebacks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chargebacks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('fare_pence', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chargebacks', schema=None) as batch_op:
        batch_op.create_index('ix_chargebacks_month', ['org_id', 'month'], unique=False)

    op.create_table('travel_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('travel_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_travel_tokens_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('travel_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_travel_tokens_person_id'))

    op.drop_table('travel_tokens')
    with op.batch_alter_table('chargebacks', schema=None) as batch_op:
        batch_op.drop_index('ix_chargebacks_month')

    op.drop_table('chargebacks')
