"""journeys record the version of the moment that ran them (declared label and file digest);
journey_groups hold the bands insights split by (online, age band, region, language)

Journeys started before this revision have neither; insights report them as version "unknown".

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('journeys') as batch:
        batch.add_column(sa.Column('moment_version', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('moment_digest', sa.String(length=64), nullable=True))
    op.create_index('ix_journeys_moment_started', 'journeys', ['moment', 'started_at'])
    op.create_table('journey_groups',
    sa.Column('journey_id', sa.String(length=36), nullable=False),
    sa.Column('online', sa.String(length=12), nullable=False),
    sa.Column('age_band', sa.String(length=10), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('journey_id')
    )


def downgrade() -> None:
    op.drop_table('journey_groups')
    op.drop_index('ix_journeys_moment_started', table_name='journeys')
    with op.batch_alter_table('journeys') as batch:
        batch.drop_column('moment_digest')
        batch.drop_column('moment_version')
