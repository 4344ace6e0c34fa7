"""the insights projection: one row of facts per journey, sums per moment, version, day and group, and the journeys whose facts are out of date, marked by triggers in the transaction that changes them

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30

Every write that changes what a journey's measures read (its status and outcome, a question
asked, a message or its delivery, a partner call or award done, a case, an officer's action, a
consent, a refused disclosure, eligibility, the journey's groups) leaves a mark in
``insight_dirty`` through a trigger, so no writer can forget to: the journey, or the person when
what changed is about a person (a consent, a refused disclosure, eligibility, a request for a
correction or a reconsideration), whose journeys are looked up when the mark is taken. Marks are
only ever appended (a key from a sequence, no unique key to check), so a writer never waits for
another writer's mark nor for a refresh. ``Insights.refresh`` recomputes the facts of marked
journeys and moves the sums by the difference. Every journey already stored is marked here, so
the first refresh builds the projection.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# (name, table, event, condition or None, statements): {NEW}/{OLD} rows; conditions in each dialect
# are written with the helpers below.
_MARK = "INSERT INTO insight_dirty (journey_id, person) {select}"
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _journey(expr: str) -> str:
    return _MARK.format(select=f"SELECT {expr}, NULL WHERE {expr} IS NOT NULL")


def _person(expr: str, only: str = "") -> str:
    return _MARK.format(select=f"SELECT NULL, {expr} WHERE {expr} IS NOT NULL{only}")


def _of_message(expr: str) -> str:
    return _MARK.format(select=f"SELECT journey_id, NULL FROM messages WHERE id = {expr} AND journey_id IS NOT NULL")


def _of_case(expr: str) -> str:
    return _MARK.format(select=f"SELECT journey_id, NULL FROM cases WHERE id = {expr} AND journey_id IS NOT NULL")


def _triggers(pg: bool) -> list[tuple[str, str, str, str | None, list[str]]]:
    differs = "IS DISTINCT FROM" if pg else "IS NOT"
    outcome = ("NEW.state -> 'outcome' IS DISTINCT FROM OLD.state -> 'outcome'" if pg else
               "json_extract(NEW.state, '$.outcome') IS NOT json_extract(OLD.state, '$.outcome')")
    refused = ("NEW.body ->> 'outcome' = 'refused'" if pg else "json_extract(NEW.body, '$.outcome') = 'refused'")
    requests = "('correction', 'mandatory-reconsideration')"
    questions = "NEW.detail ->> 'questions'" if pg else "json_extract(NEW.detail, '$.questions')"
    reached, read = "('delivered', 'sent')", "('share', 'grant')"  # what the facts count of each
    return [
        ("insight_journey_new", "journeys", "INSERT", None, [_journey("NEW.id")]),
        ("insight_journey_moved", "journeys", "UPDATE",
         f"NEW.status {differs} OLD.status OR NEW.moment_version {differs} OLD.moment_version OR {outcome}",
         [_journey("NEW.id")]),
        ("insight_journey_gone", "journeys", "DELETE", None, [_journey("OLD.id")]),
        ("insight_timeline", "timeline", "INSERT",  # only an ask step's count of questions is read
         f"NEW.kind IN ('step-started', 'step-done') AND {questions} IS NOT NULL", [_journey("NEW.journey_id")]),
        ("insight_message_new", "messages", "INSERT", "NEW.journey_id IS NOT NULL", [_journey("NEW.journey_id")]),
        ("insight_message_moved", "messages", "UPDATE",
         f"(NEW.status IN {reached}) {differs} (OLD.status IN {reached}) OR "
         f"NEW.position {differs} OLD.position OR NEW.journey_id {differs} OLD.journey_id",
         [_journey("NEW.journey_id"), _journey("OLD.journey_id")]),
        ("insight_delivery", "message_history", "INSERT", "NEW.status IN ('delivered', 'sent')",
         [_of_message("NEW.message_id")]),
        ("insight_effect_new", "outbox", "INSERT", f"NEW.status = 'done' AND NEW.kind IN {read}",
         [_journey("NEW.journey_id")]),
        ("insight_effect_done", "outbox", "UPDATE",
         f"NEW.kind IN {read} AND NEW.status {differs} OLD.status AND (NEW.status = 'done' OR OLD.status = 'done')",
         [_journey("NEW.journey_id")]),
        ("insight_case_new", "cases", "INSERT", None,
         [_journey("NEW.journey_id"), _person("NEW.person_id", f" AND NEW.queue IN {requests}")]),
        ("insight_case_moved", "cases", "UPDATE",
         f"NEW.outcome {differs} OLD.outcome OR NEW.queue {differs} OLD.queue OR "
         f"NEW.journey_id {differs} OLD.journey_id OR NEW.person_id {differs} OLD.person_id OR "
         f"NEW.opened_at {differs} OLD.opened_at",
         [_journey("NEW.journey_id"), _journey("OLD.journey_id"), _person("NEW.person_id"),
          _person("OLD.person_id")]),
        ("insight_case_action", "case_timeline", "INSERT", "NEW.actor IS NOT NULL", [_of_case("NEW.case_id")]),
        ("insight_consent", "consents", "INSERT", None, [_person("NEW.person_id")]),
        ("insight_refusal", "access_log", "INSERT", f"NEW.person_id IS NOT NULL AND {refused}",
         [_person("NEW.person_id")]),
        ("insight_eligible_new", "eligibility_state", "INSERT", None, [_person("NEW.person_id")]),
        ("insight_eligible_moved", "eligibility_state", "UPDATE",
         f"NEW.eligible {differs} OLD.eligible OR NEW.service {differs} OLD.service",
         [_person("NEW.person_id")]),
        ("insight_groups", "journey_groups", "INSERT", None, [_journey("NEW.journey_id")]),
    ]


_COUNTS = ("reached", "questions", "known", "contacts", "first_channel", "messages", "ch_inbox", "ch_email",
           "ch_sms", "ch_letter", "ch_assisted", "awarded", "applied", "cases", "case_actions", "partner_calls",
           "given", "refused", "withdrawn", "objected", "corrections", "reconsiderations", "gate_refusals",
           "viewed_access", "reviews", "overturned", "eligible")
_SUMS = ("journeys", "reached", "outcome_n", "back_30", "back_90", "back_180", "first_notice_n", "asked", "known",
         "contacts", "messages", "first_channel", "ch_inbox", "ch_email", "ch_sms", "ch_letter", "ch_assisted",
         "awarded", "zero_touch", "cases", "case_actions", "partner_calls", "consents_given", "consents_refused",
         "consents_withdrawn", "corrections", "reconsiderations", "objected", "gate_refusals", "viewed_access",
         "reviews", "overturned", "eligible", "eligible_awarded")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        'journey_facts',
        sa.Column('journey_id', sa.String(length=36), nullable=False),
        sa.Column('moment', sa.String(length=100), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('outcome_days', sa.Float(), nullable=True),
        sa.Column('first_notice_days', sa.Float(), nullable=True),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in _COUNTS],
        sa.Column('online', sa.String(length=12), nullable=False),
        sa.Column('age_band', sa.String(length=10), nullable=False),
        sa.Column('region', sa.String(length=100), nullable=False),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('journey_id'),
    )
    with op.batch_alter_table('journey_facts', schema=None) as b:
        b.create_index('ix_journey_facts_outcome', ['moment', 'outcome_days'], unique=False)
        b.create_index('ix_journey_facts_version_outcome', ['moment', 'version', 'outcome_days'], unique=False)
        b.create_index('ix_journey_facts_notice', ['moment', 'first_notice_days'], unique=False)
        b.create_index('ix_journey_facts_version_notice', ['moment', 'version', 'first_notice_days'], unique=False)
        b.create_index('ix_journey_facts_started', ['moment', 'started_at'], unique=False)
    with op.batch_alter_table('cases', schema=None) as b:
        b.create_index('ix_cases_journey', ['journey_id'], unique=False)
    op.create_table(
        'insight_cells',
        sa.Column('moment', sa.String(length=100), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('grp', sa.String(length=12), nullable=False),
        sa.Column('value', sa.String(length=100), nullable=False),
        *[sa.Column(c, sa.BigInteger(), nullable=False) for c in _SUMS],
        sa.PrimaryKeyConstraint('moment', 'grp', 'version', 'day', 'value'),
    )
    op.create_table(
        'insight_dirty',
        sa.Column('seq', Seq, autoincrement=True, nullable=False),
        sa.Column('journey_id', sa.String(length=36), nullable=True),
        sa.Column('person', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('seq'),
    )
    with op.batch_alter_table('insight_dirty', schema=None) as b:
        b.create_index('ix_insight_dirty_journey', ['journey_id'], unique=False)
        b.create_index('ix_insight_dirty_person', ['person'], unique=False)
    op.create_table(
        'insight_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('settings', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    for name, table, event, when, statements in _triggers(pg):
        if pg:
            body = "".join(s + ";\n" for s in statements)
            op.execute(f"CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}"
                       "RETURN NULL;\nEND\n$$")
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
                       + (f"WHEN ({when}) " if when else "") + f"EXECUTE FUNCTION {name}_fn()")
        else:
            body = "".join(s + ";\n" for s in statements)
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
                       + (f"WHEN {when} " if when else "") + f"BEGIN\n{body}END")
    op.execute("INSERT INTO insight_dirty (journey_id) SELECT id FROM journeys")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for name, table, *_ in _triggers(pg):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if pg else ""))
        if pg:
            op.execute(f"DROP FUNCTION IF EXISTS {name}_fn()")
    op.drop_table('insight_state')
    op.drop_table('insight_dirty')
    op.drop_table('insight_cells')
    with op.batch_alter_table('journey_facts', schema=None) as b:
        for ix in ('started', 'version_notice', 'notice', 'version_outcome', 'outcome'):
            b.drop_index(f'ix_journey_facts_{ix}')
    op.drop_table('journey_facts')
    with op.batch_alter_table('cases', schema=None) as b:
        b.drop_index('ix_cases_journey')
