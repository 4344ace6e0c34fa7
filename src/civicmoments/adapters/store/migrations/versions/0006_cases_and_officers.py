"""cases and officers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('officers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=100), nullable=False),
    sa.Column('roles', Json, nullable=False),
    sa.Column('created_at', Time, nullable=False),
    sa.Column('revoked_at', Time, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('subject')
    )
    op.create_table('officer_tokens',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('officer_id', sa.String(length=36), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', Time, nullable=False),
    sa.Column('expires_at', Time, nullable=True),
    sa.Column('revoked_at', Time, nullable=True),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id']),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('officer_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_tokens_officer_id'), ['officer_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('queue', sa.String(length=100), nullable=False),
    sa.Column('organisation', sa.String(length=100), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('journey_id', sa.String(length=36), nullable=True),
    sa.Column('step_id', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('assignee', sa.String(length=36), nullable=True),
    sa.Column('outcome', sa.String(length=50), nullable=True),
    sa.Column('outcome_reason', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.String(length=36), nullable=True),
    sa.Column('resolved_at', Time, nullable=True),
    sa.Column('opened_by', sa.String(length=36), nullable=True),
    sa.Column('opened_at', Time, nullable=False),
    sa.Column('due_at', Time, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', Json, nullable=False),
    sa.Column('tasks', Json, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_assignee', ['assignee', 'status'], unique=False)
        batch_op.create_index('ix_cases_queue_due', ['queue', 'status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_person_id'), ['person_id'], unique=False)

    op.create_table('case_timeline',
    sa.Column('seq', Seq, autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('at', Time, nullable=False),
    sa.Column('actor', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('detail', Json, nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('case_timeline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_timeline_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_timeline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_timeline_case_id'))
    op.drop_table('case_timeline')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_person_id'))
        batch_op.drop_index('ix_cases_queue_due')
        batch_op.drop_index('ix_cases_assignee')
    op.drop_table('cases')
    with op.batch_alter_table('officer_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_tokens_officer_id'))
    op.drop_table('officer_tokens')
    op.drop_table('officers')
