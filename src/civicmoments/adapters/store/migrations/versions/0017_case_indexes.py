"""indexes for the console's filtered case lists: a queue by status, an officer's own cases

A queue filtered by status (resolved, waiting on the person) and "my cases" in a queue or
across queues read the soonest due from an index in order, instead of walking the whole
queue: ``(queue, status, due_at, id)`` replaces ``(queue, status, due_at)``, and
``(assignee, queue, due_at, id)`` replaces ``(assignee, status)``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_queue_status_due_id', 'cases', ['queue', 'status', 'due_at', 'id'], unique=False)
    op.create_index('ix_cases_assignee_queue_due_id', 'cases', ['assignee', 'queue', 'due_at', 'id'], unique=False)
    op.drop_index('ix_cases_queue_due', table_name='cases')
    op.drop_index('ix_cases_assignee', table_name='cases')


def downgrade() -> None:
    op.create_index('ix_cases_assignee', 'cases', ['assignee', 'status'], unique=False)
    op.create_index('ix_cases_queue_due', 'cases', ['queue', 'status', 'due_at'], unique=False)
    op.drop_index('ix_cases_assignee_queue_due_id', table_name='cases')
    op.drop_index('ix_cases_queue_status_due_id', table_name='cases')
