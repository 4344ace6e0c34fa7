"""registry consent and audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('prev', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_person', ['person_id', 'seq'], unique=False)

    op.create_table('agreements',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=100), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('checks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', 'version')
    )
    op.create_table('audit_checkpoints',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('consents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=100), nullable=False),
    sa.Column('notice_version', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index('ix_consents_person_purpose', ['person_id', 'purpose', 'at'], unique=False)

    op.create_table('facts',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('attribute', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=36), nullable=False),
    sa.Column('basis', sa.String(length=12), nullable=False),
    sa.Column('tier', sa.String(length=8), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.create_index('ix_facts_person_attribute', ['person_id', 'attribute'], unique=False)

    op.create_table('household_members',
    sa.Column('household_id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('household_id', 'person_id')
    )
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.create_index('ix_household_members_person', ['person_id'], unique=False)

    op.create_table('identifiers',
    sa.Column('scheme', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('scheme', 'value')
    )
    with op.batch_alter_table('identifiers', schema=None) as batch_op:
        batch_op.create_index('ix_identifiers_person', ['person_id'], unique=False)

    op.create_table('match_keys',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('key', 'person_id')
    )
    op.create_table('merges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('survivor', sa.String(length=36), nullable=False),
    sa.Column('merged', sa.String(length=36), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('people',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('merged_into', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('pseudonyms',
    sa.Column('pseudonym', sa.String(length=60), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('partner', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=100), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('pseudonym')
    )
    op.create_table('question_counts',
    sa.Column('form', sa.String(length=100), nullable=False),
    sa.Column('asked', sa.Integer(), nullable=False),
    sa.Column('known', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('form')
    )


def downgrade() -> None:
    op.drop_table('question_counts')
    op.drop_table('pseudonyms')
    op.drop_table('people')
    op.drop_table('merges')
    op.drop_table('match_keys')
    with op.batch_alter_table('identifiers', schema=None) as batch_op:
        batch_op.drop_index('ix_identifiers_person')

    op.drop_table('identifiers')
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.drop_index('ix_household_members_person')

    op.drop_table('household_members')
    with op.batch_alter_table('facts', schema=None) as batch_op:
        batch_op.drop_index('ix_facts_person_attribute')

    op.drop_table('facts')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_person_purpose')

    op.drop_table('consents')
    op.drop_table('audit_checkpoints')
    op.drop_table('agreements')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_person')

    op.drop_table('access_log')
