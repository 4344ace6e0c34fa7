"""The tables. Alembic migrations create them; this module is the code's view of them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ...domain.insights import CELL_SUMS, FACT_COUNTS

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")
Seq = BigInteger().with_variant(Integer(), "sqlite")
Time = DateTime(timezone=True)


def only(status: str) -> dict[str, object]:
    """A partial index's condition on both databases: it holds the rows of one ``status`` only, so
    a row leaving that status leaves the index (one deletion, no entry elsewhere) and the index
    stays the size of the queue, not of the table's history. A statement uses it when its text
    says ``status = '<status>'`` (``paths.status_is``)."""
    where = text(f"status = '{status}'")
    return {"sqlite_where": where, "postgresql_where": where}

organisations = Table(
    "organisations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("sources", Json, nullable=False),
    Column("scopes", Json, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("revoked_at", Time),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(36), ForeignKey("organisations.id"), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time),
    Column("revoked_at", Time),
)

inbox = Table(
    "inbox",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("source", String(500), nullable=False),
    Column("event_id", String(500), nullable=False),
    Column("type", String(300), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("time", Time, nullable=False),
    Column("data", Json, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("org_id", String(36)),
    Column("received_at", Time, nullable=False),
    Column("status", String(16), nullable=False),
    Column("process_count", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("processed_at", Time),
    UniqueConstraint("source", "event_id", name="uq_inbox_source_id"),
    # The queue: pending events only (migration 0025), by partition and by source, in order.
    Index("ix_inbox_pending_partition_seq", "partition", "seq", **only("pending")),
    Index("ix_inbox_pending_source_seq", "source", "seq", **only("pending")),
    Index("ix_inbox_quarantined", "seq", **only("quarantined")),
    Index("ix_inbox_subject", "subject"),
)

partitions = Table(
    "partitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
)

journeys = Table(
    "journeys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("moment", String(100), nullable=False),
    Column("person", String(300), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("started_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    Column("state", Json, nullable=False),
    Column("moment_version", String(40)),  # migration 0013: the moment file's declared version
    Column("moment_digest", String(64)),  # and the SHA-256 of its bytes
    Index("ix_journeys_person_status", "person", "status"),
    Index("ix_journeys_moment_started", "moment", "started_at"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("journey_id", String(36), nullable=False),
    Column("at", Time, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("step", String(100)),
    Column("detail", Json, nullable=False),
    Index("ix_timeline_journey", "journey_id", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("journey_id", String(36), nullable=False),
    Column("person", String(300), nullable=False),
    Column("step", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("backoff_seconds", Float, nullable=False),
    Column("next_attempt_at", Time, nullable=False),
    Column("lease_until", Time),
    Column("last_error", Text),
    Column("created_at", Time, nullable=False),
    Column("done_at", Time),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_journey", "journey_id"),
)

timers = Table(
    "timers",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("journey_id", String(36), nullable=False),
    Column("person", String(300), nullable=False),
    Column("step", String(100), nullable=False),
    Column("due_at", Time, nullable=False),
    Column("status", String(16), nullable=False),
    Index("ix_timers_pending_due", "due_at", **only("pending")),
    Index("ix_timers_journey", "journey_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("journey_id", String(36), nullable=False),
    Column("person", String(300), nullable=False),
    Column("step", String(100), nullable=False),
    Column("payload", Json, nullable=False),
    Column("performed_at", Time, nullable=False),
)

# -- the registry: people, identifiers, households, facts --------------------------------

people = Table(
    "people",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", Time, nullable=False),
    Column("merged_into", String(36)),
    Index("ix_people_merged_into", "merged_into"),  # the records merged into a person
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("scheme", String(50), primary_key=True),
    Column("value", String(200), primary_key=True),
    Column("person_id", String(36), nullable=False),
    Index("ix_identifiers_person", "person_id"),
)

household_members = Table(
    "household_members",
    metadata,
    Column("household_id", String(36), primary_key=True),
    Column("person_id", String(36), primary_key=True),
    Column("role", String(20), nullable=False),  # partner, parent, child, other
    Column("since", Time, nullable=False),
    Index("ix_household_members_person", "person_id"),
)

facts = Table(
    "facts",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("person_id", String(36), nullable=False),
    Column("attribute", String(100), nullable=False),
    Column("value", Json, nullable=False),  # sensitive values hold AES-GCM ciphertext
    Column("source", String(36), nullable=False),
    Column("basis", String(12), nullable=False),
    Column("tier", String(8), nullable=False),
    Column("observed_at", Time, nullable=False),
    Column("valid_from", Time, nullable=False),
    Column("recorded_at", Time, nullable=False),
    Index("ix_facts_person_attribute", "person_id", "attribute"),
)

# The profile projection (adapters/store/profiles.py): for each person and attribute the best
# fact of the person and of the records merged into them, kept as facts are written.
profiles = Table(
    "profiles",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("attribute", String(100), primary_key=True),
    Column("fact_person", String(36), nullable=False),  # whose record the fact is (a merged one's, perhaps)
    Column("seq", BigInteger, nullable=False),
    Column("value", Json, nullable=False),
    Column("source", String(36), nullable=False),
    Column("basis", String(12), nullable=False),
    Column("tier", String(8), nullable=False),
    Column("rank", Integer, nullable=False),  # 3 gold, 2 silver, 1 bronze; 0 for a newest-wins attribute
    Column("observed_at", Time, nullable=False),
    Column("valid_from", Time, nullable=False),
    sqlite_with_rowid=False,  # stored in key order: reading everyone is one sequential scan
)

# The newest-wins attributes the projection was made with (a pack that changes them re-projects).
profile_rules = Table(
    "profile_rules",
    metadata,
    Column("attribute", String(100), primary_key=True),
)

merges = Table(
    "merges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("survivor", String(36), nullable=False),
    Column("merged", String(36), nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", Time, nullable=False),
    Column("reversed_at", Time),
)

question_counts = Table(
    "question_counts",
    metadata,
    Column("form", String(100), primary_key=True),
    Column("asked", Integer, nullable=False),
    Column("known", Integer, nullable=False),
)

# -- consent, agreements, disclosures ------------------------------------------------------

consents = Table(
    "consents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("person_id", String(36), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("notice_version", String(40), nullable=False),
    Column("state", String(12), nullable=False),
    Column("at", Time, nullable=False),
    Column("channel", String(20), nullable=False),
    Index("ix_consents_person_purpose", "person_id", "purpose", "at"),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("recipient", String(36), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("attributes", Json, nullable=False),
    Column("checks", Json, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("events", Json),  # event types the recipient may be told of (subscriptions); none when null
    Column("retention_days", Integer, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("revoked_at", Time),
)

pseudonyms = Table(
    "pseudonyms",
    metadata,
    Column("pseudonym", String(60), primary_key=True),
    Column("person_id", String(36), nullable=False),
    Column("partner", String(36), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("key_version", Integer, nullable=False),
)

access_log = Table(
    "access_log",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),  # on SQLite the row id: the table in chain order
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("body", Json, nullable=False),
    Column("person_id", String(36)),  # a copy of body.person, for the person's own view
    Index("ix_access_log_person", "person_id", "seq"),
)

match_keys = Table(
    "match_keys",
    metadata,
    Column("key", String(120), primary_key=True),  # e.g. dob:1990-02-03, pc:SW1A1AA
    Column("person_id", String(36), primary_key=True),
)

eligibility_state = Table(
    "eligibility_state",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("service", String(100), primary_key=True),
    Column("eligible", Boolean, nullable=False),
    Column("since", Date, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(200), nullable=False, unique=True),  # the idempotency key: one message per key
    Column("person_id", String(36), nullable=False),
    Column("journey_id", String(36)),
    Column("template", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("locale", String(10), nullable=False),
    Column("purpose", String(100)),
    Column("content", Text, nullable=False),  # subject, short and long text, encrypted
    Column("needs", Json, nullable=False),  # large print, easy read
    Column("chain", Json, nullable=False),
    Column("position", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", Time),  # due to send, to retry, or to give up waiting; null when finished
    Column("provider", String(50)),
    Column("reference", String(100)),
    Column("read_at", Time),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    Column("removed_at", Time),  # when retention replaced the text (see the retention block below)
    Index("ix_messages_due", "next_at"),
    Index("ix_messages_person", "person_id", "created_at"),
    Index("ix_messages_journey", "journey_id"),
    Index("ix_messages_reference", "reference"),
)

message_history = Table(
    "message_history",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False, index=True),
    Column("at", Time, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("provider", String(50)),
    Column("detail", Text, nullable=False),
)

message_preferences = Table(
    "message_preferences",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("preferences", Json, nullable=False),
    Column("updated_at", Time, nullable=False),
)

travel_tokens = Table(
    "travel_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # keyed hash of the card id; the id is not kept
    Column("person_id", String(36), nullable=False, index=True),
    Column("registered_at", Time, nullable=False),
    Column("expires_at", Time, nullable=False),
    Column("revoked_at", Time),
)

chargebacks = Table(
    "chargebacks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False),  # the transit organisation that waived the fare
    Column("token_hash", String(64), nullable=False),
    Column("fare_pence", Integer, nullable=False),
    Column("at", Time, nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM, for statements
    Index("ix_chargebacks_month", "org_id", "month"),
)

# -- cases and officers (migration 0006) ---------------------------------------------------------
officers = Table(
    "officers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject", String(255), nullable=False, unique=True),  # the OpenID Connect subject
    Column("name", String(200), nullable=False, unique=True),
    Column("organisation", String(100), nullable=False),
    Column("roles", Json, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("revoked_at", Time),
)

officer_tokens = Table(
    "officer_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("officer_id", String(36), ForeignKey("officers.id"), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time),
    Column("revoked_at", Time),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(200), unique=True),  # the opening effect's idempotency key
    Column("queue", String(100), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("person_id", String(36), nullable=False, index=True),
    Column("journey_id", String(36)),
    Column("step_id", String(100)),
    Column("reason", Text, nullable=False),
    Column("priority", String(10), nullable=False),
    Column("status", String(20), nullable=False),
    Column("assignee", String(36)),
    Column("outcome", String(50)),
    Column("outcome_reason", Text),
    Column("resolved_by", String(36)),
    Column("resolved_at", Time),
    Column("opened_by", String(36)),
    Column("opened_at", Time, nullable=False),
    Column("due_at", Time, nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", Json, nullable=False),
    Column("tasks", Json, nullable=False),
    # Every list names the statuses it wants (all five when unfiltered), so each (queue, status)
    # is read in due order and the soonest due are merged: a page reads about a page of rows.
    Index("ix_cases_queue_due_id", "queue", "due_at", "id"),  # a queue page: the soonest due, in order
    Index("ix_cases_queue_status_due_id", "queue", "status", "due_at", "id"),  # filtered by status
    Index("ix_cases_assignee_queue_due_id", "assignee", "queue", "due_at", "id"),  # "my cases"
    Index("ix_cases_journey", "journey_id"),  # a journey's cases, for its insights (migration 0021)
)

case_timeline = Table(
    "case_timeline",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("at", Time, nullable=False),
    Column("actor", String(36)),
    Column("action", String(30), nullable=False),
    Column("detail", Json, nullable=False),
)


case_evidence = Table(  # documents a person attached to a case, sealed (AES-256-GCM) at rest
    "case_evidence",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("filename", String(200), nullable=False),
    Column("media_type", String(50), nullable=False),  # from the file's first bytes, not its name
    Column("size", Integer, nullable=False),  # bytes, before sealing
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_at", Time, nullable=False),
    Column("uploaded_by", String(36)),  # an officer who attached it for the person, else None
    Column("channel", String(20), nullable=False),  # portal, or assisted
)


support_records = Table(  # what a work coach records with a person: claimant commitment, adjustments, appointee
    "support_records",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("kind", String(30), nullable=False),  # commitment, adjustments, appointee; the newest of a kind counts
    Column("data", Json, nullable=False),
    Column("recorded_by", String(36), nullable=False),  # the officer
    Column("recorded_at", Time, nullable=False),
    Column("channel", String(20), nullable=False),  # how the person asked: phone, visit, office, video
)


# -- engine liveness (hardened intake) ----------------------------------------------

engine_heartbeats = Table(
    "engine_heartbeats",
    metadata,
    Column("worker_id", String(64), primary_key=True),  # host:pid:start, one row per engine process
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Time, nullable=False),
    Column("beat_at", Time, nullable=False),
    Column("running", Boolean, nullable=False),  # the engine thread is alive and looping
    Column("restarts", Integer, nullable=False),
    Column("last_error", Text),  # the class of the exception that last stopped the engine thread
    Column("role", String(16), nullable=False, server_default="all"),  # Worker.role: all, engine or sender
)


# -- access-log checkpoints, sessions, retention ------------------------------------------

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),  # 1, 2, 3 ...
    Column("seq", BigInteger, nullable=False),  # the entry whose hash is the head
    Column("head", String(64), nullable=False),
    Column("prev", String(64), nullable=False),  # digest of the checkpoint before
    Column("at", String(40), nullable=False),  # ISO 8601 UTC, as signed
    Column("signature", Text, nullable=False),
    Column("public_key", Text, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie's token; the token is not kept
    Column("data", Json, nullable=False),
    Column("person_id", String(36), index=True),
    Column("created_at", Time, nullable=False),
    Column("seen_at", Time, nullable=False),
    Column("expires_at", Time, nullable=False, index=True),
)

erasure_requests = Table(
    "erasure_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("requested_at", Time, nullable=False),
    Column("details", Text, nullable=False),  # what the person asked, in their words
    Column("status", String(20), nullable=False),  # received, case-opened, done
    Column("case_id", String(36)),
)


# -- insights (migration 0013) --------------------------------------------------------------

journey_groups = Table(
    "journey_groups",
    metadata,
    Column("journey_id", String(36), primary_key=True),
    Column("online", String(12), nullable=False),  # online | not-online
    Column("age_band", String(10), nullable=False),  # 16-24 ... 65+, at the journey's start
    Column("region", String(100), nullable=False),  # the person's home area
    Column("language", String(10), nullable=False),  # the language messages are written in
)

# -- the insights projection (migration 0021; see adapters/store/facts.py) -------------------------
# One row per journey: what its measures read, as numbers (``domain.insights.JourneyFacts``, with
# messages delivered per channel in ``ch_<channel>`` columns).
journey_facts = Table(
    "journey_facts",
    metadata,
    Column("journey_id", String(36), primary_key=True),
    Column("moment", String(100), nullable=False),
    Column("version", String(40), nullable=False),
    Column("started_at", Time, nullable=False),
    Column("day", String(10), nullable=False),  # the UTC date it started, YYYY-MM-DD
    Column("outcome_days", Float),  # only when the objective was reached and confirmed
    Column("first_notice_days", Float),
    *[Column(c, Integer, nullable=False) for c in FACT_COUNTS],
    Column("online", String(12), nullable=False),
    Column("age_band", String(10), nullable=False),
    Column("region", String(100), nullable=False),
    Column("language", String(10), nullable=False),
    Index("ix_journey_facts_outcome", "moment", "outcome_days"),  # order statistics by position
    Index("ix_journey_facts_version_outcome", "moment", "version", "outcome_days"),
    Index("ix_journey_facts_notice", "moment", "first_notice_days"),
    Index("ix_journey_facts_version_notice", "moment", "version", "first_notice_days"),
    Index("ix_journey_facts_started", "moment", "started_at"),
)
# The sums of ``domain.insights.Tally`` per moment, version, day started and group value (``grp``:
# "all" with value "all", or one of the groups people are split by); kept by differences.
insight_cells = Table(
    "insight_cells",
    metadata,
    Column("moment", String(100), primary_key=True),
    Column("grp", String(12), primary_key=True),
    Column("version", String(40), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("value", String(100), primary_key=True),
    *[Column(c, BigInteger, nullable=False) for c in CELL_SUMS],
)
# Journeys whose facts are out of date: marked by triggers on the tables the facts are read from,
# in the transaction that changes them; ``n`` counts the marks.
insight_dirty = Table(  # marks, only ever appended: a journey's facts, or a person's journeys', are out of date
    "insight_dirty",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("journey_id", String(36)),
    Column("person", String(300)),
    Index("ix_insight_dirty_journey", "journey_id"),
    Index("ix_insight_dirty_person", "person"),
)
insight_state = Table(  # one row: the digest of the pack settings the facts were computed with
    "insight_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("settings", String(64), nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), nullable=False, index=True),
    Column("agreement", String(100), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("types", Json, nullable=False),  # exact types or glob patterns
    Column("source_prefix", String(500), nullable=False, default=""),
    Column("subject_prefix", String(300), nullable=False, default=""),
    Column("protocol", String(8), nullable=False),  # HTTP or NATS
    Column("sink", String(2000), nullable=False),
    Column("cursor", BigInteger, nullable=False, default=0),  # inbox seq fanned out so far
    Column("created_at", Time, nullable=False),
    Column("deleted_at", Time),
)

subscription_deliveries = Table(
    "subscription_deliveries",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("event_seq", BigInteger, nullable=False),  # the inbox row told of
    Column("status", String(12), nullable=False),  # pending, delivered, dead, withheld
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", Time, nullable=False),
    Column("leased_until", Time),
    Column("last_error", Text),  # the subscriber's answer (status and start of the body), or the fault
    Column("delivered_at", Time),
    UniqueConstraint("subscription_id", "event_seq", name="uq_subscription_delivery"),
    Index("ix_subscription_deliveries_due", "status", "due_at"),
)

intake_refusals = Table(
    "intake_refusals",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),  # nats (HTTP refusals are answered to the sender)
    Column("subject", String(300), nullable=False),  # where it was published
    Column("org_id", String(36)),  # the organisation the subject names, if any
    Column("reason", Text, nullable=False),
    Column("excerpt", Text, nullable=False),  # the start of the message, to find it by
    Column("at", Time, nullable=False),
)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", String(200), primary_key=True),  # e.g. provider:ses, transit:<organisation id>
    Column("tokens", Float, nullable=False),
    Column("at", Float, nullable=False),  # Unix time of the last take, in seconds
)

provider_health = Table(
    "provider_health",
    metadata,
    Column("name", String(200), primary_key=True),  # channel:provider
    Column("down_until", Float, nullable=False),  # Unix time; set aside until then
    Column("error_rate", Float, nullable=False),
)

# A job split in parts (the sweep for one day): any process may take a part; a part done is
# never done again, and a part whose taker died is taken again once its lease runs out.
partition_leases = Table(
    "partition_leases",
    metadata,
    Column("job", String(100), primary_key=True),  # e.g. sweep:2026-11-30
    Column("part", Integer, primary_key=True),  # 0 .. parts - 1
    Column("parts", Integer, nullable=False),
    Column("status", String(8), nullable=False),  # open | done
    Column("holder", String(100)),  # who took it last (host:pid)
    Column("leased_until", Time),
    Column("attempts", Integer, nullable=False),
    Column("result", Json),  # what doing it gave (counts)
    Column("done_at", Time),
)

# -- money: awards, payments, runs and bank reports (issue 17) ------------------------

awards = Table(
    "awards",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(200), unique=True),  # the granting effect's key: one award per grant
    Column("service", String(100), nullable=False),
    Column("person_id", String(36), nullable=False, index=True),
    Column("payee_id", String(36), nullable=False),
    Column("frequency", String(40), nullable=False),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),
    Column("periods", Json, nullable=False),  # [{start, end, pence, per, source, band}]
    Column("status", String(20), nullable=False),  # active | suspended | stopped | ended
    Column("suspended_from", Date),
    Column("hold", String(40)),  # why the next payments wait: no-account | returned | details-changed
    Column("scheduled_to", Date),  # the last day covered by scheduled payments
    Column("schedule_stops", String(20)),  # end | rates | calendar
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("award_id", String(36), nullable=False),
    Column("person_id", String(36), nullable=False),
    Column("period", String(30), nullable=False),  # "start/end": with award_id, what a payment is idempotent on
    Column("kind", String(20), nullable=False),  # regular | lump-sum | arrears | reissue
    Column("start_on", Date, nullable=False),
    Column("end_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),  # pence
    Column("due_on", Date, nullable=False),
    Column("pay_on", Date, nullable=False, index=True),
    # scheduled | held | batched | sent | paid | returned | rejected | cancelled
    Column("status", String(20), nullable=False),
    Column("held_reason", String(40)),
    Column("file_ref", String(60), index=True),
    Column("account_last4", String(4)),
    Column("end_to_end", String(35), nullable=False, unique=True),  # the id in the file and the bank's report
    Column("sources", Json, nullable=False),
    Column("status_at", Time, nullable=False),
    UniqueConstraint("award_id", "period", "kind", name="uq_payments_award_period"),
    Index("ix_payments_due", "status", "pay_on", "seq"),
)

payment_runs = Table(
    "payment_runs",
    metadata,
    Column("run_on", Date, primary_key=True),  # one run a day
    Column("status", String(20), nullable=False),  # running | done
    Column("started_at", Time, nullable=False),
    Column("finished_at", Time),
    Column("payments", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
)

payment_files = Table(
    "payment_files",
    metadata,
    Column("ref", String(60), primary_key=True),  # the file's name and its message id
    Column("run_on", Date, nullable=False, index=True),
    Column("payments", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("sha256", String(64)),
    Column("written_at", Time),  # None: assigned, not yet written (a run that was killed rewrites it)
)

bank_changes = Table(
    "bank_changes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("value", Text, nullable=False),  # the new details, sealed
    Column("code_hash", String(64), nullable=False),
    Column("sent_to", String(20), nullable=False),  # the channel the code went to
    Column("expires_at", Time, nullable=False),
    Column("tries", Integer, nullable=False, server_default="0"),  # wrong codes entered
    Column("confirmed_at", Time),
    Column("created_at", Time, nullable=False),
)
