"""on SQLite, the insights triggers on the access log and the timeline look for their key in the text before parsing it

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30

Every access-log entry and every step of the timeline went through SQLite's JSON parser to see
whether it is a refused disclosure or counts questions; almost none is. Each condition now first
looks for the quoted word in the stored text (``instr``), which a JSON text holding that key or
value always contains, and only then parses it: the same rows are marked. PostgreSQL reads its
``jsonb`` columns without a parse and keeps the conditions of 0021.
"""

from __future__ import annotations

from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_REFUSAL = ("INSERT INTO insight_dirty (journey_id, person) "
            "SELECT NULL, NEW.person_id WHERE NEW.person_id IS NOT NULL")
_TIMELINE = ("INSERT INTO insight_dirty (journey_id, person) "
             "SELECT NEW.journey_id, NULL WHERE NEW.journey_id IS NOT NULL")

# (name, table, condition of 0021, condition now, statement)
_CHANGED = [
    ("insight_refusal", "access_log",
     "NEW.person_id IS NOT NULL AND json_extract(NEW.body, '$.outcome') = 'refused'",
     "NEW.person_id IS NOT NULL AND instr(NEW.body, '\"refused\"') > 0 "
     "AND json_extract(NEW.body, '$.outcome') = 'refused'",
     _REFUSAL),
    ("insight_timeline", "timeline",
     "NEW.kind IN ('step-started', 'step-done') AND json_extract(NEW.detail, '$.questions') IS NOT NULL",
     "NEW.kind IN ('step-started', 'step-done') AND instr(NEW.detail, '\"questions\"') > 0 "
     "AND json_extract(NEW.detail, '$.questions') IS NOT NULL",
     _TIMELINE),
]


def _replace(now: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, table, before, after, statement in _CHANGED:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} AFTER INSERT ON {table} FOR EACH ROW "
                   f"WHEN {after if now else before} BEGIN\n{statement};\nEND")


def upgrade() -> None:
    _replace(now=True)


def downgrade() -> None:
    _replace(now=False)
