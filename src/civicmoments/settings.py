"""Typed settings, read from the environment (``CIVIC_*``) at the entrypoints only."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "packs" / "uk"


class SmsProvider(BaseModel):
    """A GOV.UK Notify-compatible SMS provider."""

    name: str
    api_key: SecretStr
    base_url: str = "https://api.notifications.service.gov.uk"
    template_id: str = Field(description="a Notify SMS template whose whole body is ((body))")
    priority: int = 10
    rate_per_second: float | None = None
    timeout_seconds: float = 10.0


class EmailProvider(BaseModel):
    """An SMTP server: smtp://[user:password@]host[:port], smtp+starttls:// for STARTTLS."""

    name: str
    url: SecretStr
    sender: str = "no-reply@civicmoments.localhost"
    priority: int = 10
    rate_per_second: float | None = None
    connections: int = 4


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVIC_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means a local SQLite file under data_dir"
    )
    data_dir: Path = Path(".civic")
    now: datetime | None = Field(
        default=None, description="start the clock at this UTC time (ISO 8601) and let it run; unset means the "
        "wall clock. Tests and the demo set it, so they decide on a given day; production leaves it unset")
    pack_dir: Path = DEFAULT_PACK
    max_payload_bytes: int = Field(default=1_000_000, description="largest request body for /v1/events; more gets 413")
    max_evidence_bytes: int = Field(default=5_000_000, gt=0, description="largest document a person may attach "
                                    "to a case (PDF, JPEG or PNG); the body limit for an upload is twice this")
    max_body_bytes: int = Field(default=1_000_000, gt=0, description="largest request body for every other route, "
                                "refused before it is read and before authentication")
    event_time_earliest: datetime = Field(default=datetime(1900, 1, 1, tzinfo=timezone.utc), description=
                                          "events whose time is before this are refused (event-time-out-of-range)")
    event_time_max_ahead_days: int = Field(default=366, ge=0, description="events whose time is more than this "
                                           "many days after now are refused (event-time-out-of-range)")
    engine_heartbeat_seconds: float = Field(default=2.0, gt=0, description="how often the engine records that "
                                            "it runs")
    engine_stale_seconds: float = Field(default=120.0, gt=0, description="an engine silent for longer is not "
                                        "running: /healthz answers 503")
    engine_restart_backoff_seconds: float = Field(default=0.5, gt=0, description="first wait before a dead "
                                                  "engine thread is restarted; doubles on each quick failure")
    engine_restart_max_backoff_seconds: float = Field(default=30.0, gt=0)
    sqlite_cache_mib: int = Field(default=64, ge=1, description="on SQLite, the page cache of each database "
                                  "connection of a long-running process (serve, worker), in MiB; one-shot "
                                  "commands keep SQLite's 2 MiB unless this is set")
    batch_size: int = 500
    effect_batch_size: int = 200
    message_batch_size: int = Field(default=500, ge=1, description="messages a sending loop claims, sends and "
                                    "settles at a time")
    slice_size: int = Field(default=100, ge=0, description="people new to the queue started a round while "
                            "earlier journeys still have an effect batch due; 0 starts whole batches")
    partitions: int = 64
    effect_lease_seconds: float = 30.0
    effects_url: str | None = Field(
        default=None, description="if set, every effect is delivered by HTTP POST to this URL"
    )
    effects_token: SecretStr | None = None
    effects_rate_per_second: float | None = Field(
        default=None, gt=0, description="the most effects a second posted to effects_url by all processes together "
        "(shared in the database with shared_limits); unset means no limit")
    pseudonym_keys: SecretStr | None = Field(
        default=None, description="HMAC keys for pseudonyms: '2:<base64>,1:<base64>', newest first")
    data_keys: SecretStr | None = Field(default=None, description="AES-256-GCM keys, same form")
    audit_signing_key: SecretStr | None = Field(default=None, description="Ed25519 seed, base64")
    audit_copy: Path | None = Field(
        default=None, description="append-only file that receives a copy of every access-log checkpoint; "
        "unset means data_dir/audit-checkpoints.jsonl. Point it at storage that only allows appends")
    audit_checkpoint_every: int = Field(default=1000, ge=1, description="checkpoint after this many entries")
    audit_checkpoint_minutes: float = Field(default=10.0, gt=0, description="and once the oldest entry not "
                                            "yet covered is this old")
    controller: str = "Civic Moments platform"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    cli_log_level: str = Field(default="ERROR", description="the logs of one-shot commands (civic cases, orgs …): "
                               "what they refuse is their own one-line error, not a log line as well")
    log_json: bool = True
    idle_sleep_seconds: float = 0.05
    sms_providers: list[SmsProvider] = Field(default_factory=list, description="JSON list")
    email_providers: list[EmailProvider] = Field(default_factory=list, description="JSON list")
    letters_dir: Path | None = Field(default=None, description="the print queue; unset means data_dir/letters")
    payments_dir: Path | None = Field(default=None, description="the payment-file outbox a bank connector picks "
                                      "files up from, and where its reports arrive; unset means data_dir/payments")
    receipts_token: SecretStr | None = Field(default=None, description="bearer token providers use for receipts")
    sender_name: str = "Civic Moments"
    public_url: str = Field(default="http://127.0.0.1:8080", description="where people sign in; used in messages")
    service_name: str = "Civic Moments"
    transit_checks_per_second: float = Field(default=20.0, gt=0, description="per organisation; more get 429")
    insights_engine: Literal["projection", "sql", "duckdb"] = Field(
        default="projection", description="what computes the insights: the projection kept as journeys move "
        "(sums and indexed facts per journey), SQL on the store, or DuckDB reading it (the `insights` extra; "
        "on SQLite in a child process of its own)")
    insights_refresh_seconds: float = Field(
        default=60.0, ge=0, description="how often `civic serve` and `civic worker` bring the insights "
        "projection up to date (0: only when a report is asked for)")
    sweep_partitions: int = Field(default=1, ge=1, le=4096, description="parts the daily sweep is split into; "
                                  "with more than one, every `civic serve` and `civic worker` takes parts until "
                                  "none is left, and no part is done twice")
    sweep_lease_seconds: float = Field(default=3600.0, gt=0, description="how long a process holds a part of the "
                                       "sweep before another may take it again (its taker died)")
    web_processes: int = Field(default=1, ge=1, le=64, description="processes serving the API and the portal")
    shared_limits: bool | None = Field(default=None, description="keep rate limits and provider health in the "
                                       "database, shared by every process; unset: on PostgreSQL or with several "
                                       "web processes")
    nats_url: str | None = Field(default=None, description="NATS with JetStream (nats://host:4222): subscribers' "
                                 "events are published there too; needs the nats extra")
    nats_prefix: str = Field(default="civic", pattern=r"^[a-z][a-z0-9_]*$",
                             description="first subject token: <prefix>.in.<org>, <prefix>.out.<org>.<type>")
    nats_replicas: int = Field(default=1, ge=1, le=5, description="replicas of the streams the platform creates "
                               "(3 on a three-node JetStream cluster)")
    subscription_poll_seconds: float = Field(default=1.0, gt=0,
                                             description="how often the worker fans events out to subscribers")
    demo_mode: bool = Field(default=False, description="serves the demo identity provider; never in production")
    demo_featured: list[str] = Field(default_factory=list, description="person ids the demo sign-in lists first "
                                     "(the story's people), a JSON list")
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer; unset in demo mode means "
                                    "the demo identity provider")
    oidc_client_id: str = "civic-portal"
    oidc_client_secret: SecretStr | None = Field(default=None, description="required outside demo mode")
    portal: bool = Field(default=True, description="serve the citizen portal; false serves the API alone")
    session_secret: SecretStr | None = Field(default=None, description="signs portal session cookies")
    staff_oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer for staff; unset means "
                                          "CIVIC_OIDC_ISSUER (in demo mode, the demo identity provider)")
    staff_oidc_client_id: str = "civic-staff"
    staff_oidc_client_secret: SecretStr | None = Field(
        default=None, description="the staff console's client secret; no default outside demo mode")
    moj_assets_dir: Path = Field(default=DEFAULT_PACK.parents[1] / "node_modules" / "@ministryofjustice" / "frontend"
                                 / "moj", description="MOJ Frontend's built files (npm ci), for the staff console")
    assets_dir: Path = Field(default=DEFAULT_PACK.parents[1] / "node_modules" / "govuk-frontend" / "dist" / "govuk",
                             description="GOV.UK Frontend's built files (npm ci)")
    partner_urls: dict[str, str] = Field(
        default_factory=dict, description='JSON: {"JobMatch": "http://127.0.0.1:9101/v1/profiles"}; shares to '
        "a partner named here are POSTed there, signed by the platform")
    provider_error_threshold: float = 0.5
    provider_cooldown_seconds: float = 30.0

    def resolved_audit_copy(self) -> Path:
        return self.audit_copy or self.data_dir / "audit-checkpoints.jsonl"

    def resolved_payments_dir(self) -> Path:
        return self.payments_dir or self.data_dir / "payments"

    def resolved_letters_dir(self) -> Path:
        return self.letters_dir or self.data_dir / "letters"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner only: it holds the database
        return f"sqlite:///{(self.data_dir / 'civic.db').resolve()}"
