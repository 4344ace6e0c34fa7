"""the profile projection: each person's best fact per attribute, kept as facts are written; back-filled from the facts; people indexed by the record they are merged into

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30

The back-fill ranks every attribute by tier; the first start with a pack re-projects the
attributes the pack makes newest-wins (``profile_rules``, adapters/store/profiles.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('profiles',
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('attribute', sa.String(length=100), nullable=False),
    sa.Column('fact_person', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('value', Json, nullable=False),
    sa.Column('source', sa.String(length=36), nullable=False),
    sa.Column('basis', sa.String(length=12), nullable=False),
    sa.Column('tier', sa.String(length=8), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_id', 'attribute'),
    sqlite_with_rowid=False
    )
    op.create_table('profile_rules',
    sa.Column('attribute', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('attribute')
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index('ix_people_merged_into', ['merged_into'], unique=False)
    # Each fact counts for its own person and for the survivor its person is merged into.
    rank = "CASE o.tier WHEN 'gold' THEN 3 WHEN 'silver' THEN 2 ELSE 1 END"
    op.execute(
        "INSERT INTO profiles (person_id, attribute, fact_person, seq, value, source, basis, tier, rank, "
        "observed_at, valid_from) "
        "SELECT owner, attribute, person_id, seq, value, source, basis, tier, rank, observed_at, valid_from "
        f"FROM (SELECT o.*, {rank} AS rank, ROW_NUMBER() OVER (PARTITION BY o.owner, o.attribute "
        f"ORDER BY {rank} DESC, o.observed_at DESC, o.valid_from DESC, o.seq DESC) AS n "
        "FROM (SELECT f.person_id AS owner, f.* FROM facts f UNION ALL "
        "SELECT p.merged_into AS owner, f.* FROM facts f JOIN people p ON p.id = f.person_id "
        "WHERE p.merged_into IS NOT NULL) o) b WHERE n = 1")


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index('ix_people_merged_into')
    op.drop_table('profile_rules')
    op.drop_table('profiles')
