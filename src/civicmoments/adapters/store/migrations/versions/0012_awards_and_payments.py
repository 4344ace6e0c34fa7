"""awards, payments, payment runs and files, bank detail changes

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('awards',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('payee_id', sa.String(length=36), nullable=False),
    sa.Column('frequency', sa.String(length=40), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('periods', Json, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('suspended_from', sa.Date(), nullable=True),
    sa.Column('hold', sa.String(length=40), nullable=True),
    sa.Column('scheduled_to', sa.Date(), nullable=True),
    sa.Column('schedule_stops', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_awards_person_id', 'awards', ['person_id'])
    op.create_table('payments',
    sa.Column('seq', Seq, autoincrement=True, nullable=False),
    sa.Column('award_id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('period', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('pay_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('held_reason', sa.String(length=40), nullable=True),
    sa.Column('file_ref', sa.String(length=60), nullable=True),
    sa.Column('account_last4', sa.String(length=4), nullable=True),
    sa.Column('end_to_end', sa.String(length=35), nullable=False),
    sa.Column('sources', Json, nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('award_id', 'period', 'kind', name='uq_payments_award_period'),
    sa.UniqueConstraint('end_to_end')
    )
    op.create_index('ix_payments_pay_on', 'payments', ['pay_on'])
    op.create_index('ix_payments_file_ref', 'payments', ['file_ref'])
    op.create_index('ix_payments_due', 'payments', ['status', 'pay_on', 'seq'])
    op.create_table('payment_runs',
    sa.Column('run_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('run_on')
    )
    op.create_table('payment_files',
    sa.Column('ref', sa.String(length=60), nullable=False),
    sa.Column('run_on', sa.Date(), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('ref')
    )
    op.create_index('ix_payment_files_run_on', 'payment_files', ['run_on'])
    op.create_table('bank_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('sent_to', sa.String(length=20), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_bank_changes_person_id', 'bank_changes', ['person_id'])


def downgrade() -> None:
    for table in ('bank_changes', 'payment_files', 'payment_runs', 'payments', 'awards'):
        op.drop_table(table)
