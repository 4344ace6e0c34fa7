"""The one place that decides which adapter serves which port."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from .adapters.audit_copy import AppendOnlyCopy
from .adapters.crypto import FieldCipher, Keys, Pseudonymiser, Signer, private_file
from .adapters.effects.http import HttpProvider, PartnerRouter, reservations_url
from .adapters.effects.local import RecordingProvider, SimpleRulesProvider
from .adapters.effects.share import GatedShareProvider
from .adapters.effects.webhook import WebhookTransport
from .adapters.store.cases import CaseStore
from .adapters.store.engine import make_engines
from .adapters.store.health import HealthStore
from .adapters.store.limits import SharedLimits
from .adapters.store.messages import MessageStore
from .adapters.store.registry import RegistryStore
from .adapters.store.sql import SqlStore
from .adapters.store.subscriptions import SubscriptionStore
from .adapters.store.transit import TransitStore
from .adapters.telemetry import PrometheusTelemetry
from .domain.clock import Clock, clock_for
from .domain.messages import Channel
from .domain.moments import StepKind
from .engine.agreements import Agreements
from .engine.audit import AuditLog
from .engine.authority import Authority
from .engine.cases import Cases, OpenCaseProvider
from .engine.consents import CONSENT_REFUSED, CONSENT_WITHDRAWN, Consents
from .engine.dispatcher import Dispatcher
from .engine.effects import EffectRunner
from .engine.gate import PrivacyGate
from .engine.health import engine_health
from .engine.identity import Resolver
from .engine.intake import Intake
from .engine.interviews import Interviews
from .engine.lifetime import Lifetime
from .engine.messages import Messenger
from .engine.officers import Officers
from .engine.organisations import Organisations, organisation_id
from .engine.outbound import Fence, Outbound
from .engine.outcomes import ConfirmOutcomes
from .engine.ports import EffectProvider
from .engine.providers import Allowance, ProviderPool
from .engine.questions import QuestionPlanner
from .engine.registry import Registry
from .engine.steps import DecideProvider, RegistryStepsProvider
from .engine.subscriptions import Relay, Subscriptions
from .engine.supervisor import EngineSupervisor
from .engine.transit import Transit
from .engine.worker import Worker
from .packs import Pack, load_pack
from .packs.authority import load_authority
from .settings import Settings


@dataclass
class App:
    settings: Settings
    store: SqlStore
    pack: Pack
    clock: Clock
    intake: Intake
    organisations: Organisations
    dispatcher: Dispatcher
    effects: EffectRunner
    worker: Worker
    registry: Registry
    resolver: Resolver
    consents: Consents
    agreements: Agreements
    audit: AuditLog
    gate: PrivacyGate
    questions: QuestionPlanner | None
    messenger: Messenger
    transit: Transit
    interviews: Interviews
    cases: Cases
    officers: Officers
    health: HealthStore | None = None
    supervisor: EngineSupervisor | None = None  # set when this process runs the engine
    outbound: Outbound | None = None
    subscriptions: Subscriptions | None = None
    relay: Relay | None = None

    def start_engine(self) -> EngineSupervisor:
        """Run the engine in this process, kept alive by a supervisor (restart with backoff, heartbeats)."""
        s = self.settings
        if self.store.engine.dialect.name == "postgresql" and self.worker.wake is None:
            from .adapters.store.wake import PgWaker  # idle workers wake on NOTIFY, not by polling

            self.worker.wake = PgWaker(s.resolved_database_url()).wait
        self.supervisor = EngineSupervisor(self.worker, self.health, self.clock,
                                           beat_seconds=s.engine_heartbeat_seconds,
                                           stale_seconds=s.engine_stale_seconds,
                                           min_backoff=s.engine_restart_backoff_seconds,
                                           max_backoff=s.engine_restart_max_backoff_seconds)
        if self.store.engine.dialect.name == "sqlite":  # several engines on one file share the people
            from .engine.supervisor import Share

            self.store.share = Share(self.health, self.supervisor.worker_id,
                                     window=max(10.0, 5 * s.engine_heartbeat_seconds))
        return self.supervisor

    def nats_intake(self):
        """The consumer of events organisations publish on NATS (``CIVIC_NATS_URL``), not yet started."""
        from .adapters.nats_intake import NatsIntake, RefusalStore

        s = self.settings
        return NatsIntake(s.nats_url, s.nats_prefix, self.intake, self.organisations,
                          RefusalStore(self.store.engine, self.store.reader), self.clock, s.max_payload_bytes,
                          replicas=s.nats_replicas)

    def engine_health(self) -> dict:
        return engine_health(self.health, self.clock, self.supervisor, self.settings.engine_stale_seconds)

    @cached_property
    def rules(self):
        """The pack's OpenFisca rules, loaded on first use (it takes a second), shared by the apps of a process."""
        from .rules.openfisca import rules_for

        return rules_for(self.pack.root)

    @cached_property
    def insights(self):
        """Impact and insights: each moment's measures, per version, period and group."""
        from .adapters.store.insights import InsightStore
        from .engine.insights import Insights

        store = InsightStore(self.store.engine, self.store.reader,
                             analytics=self.settings.insights_engine == "duckdb")
        self.store.on_close.append(store.close)
        facts = None
        if self.settings.insights_engine == "projection":
            from .adapters.store.facts import FactStore

            facts = FactStore(self.store.engine, self.store.reader, store)
        return Insights(store, self.pack, self.registry, self.clock, facts=facts)

    @cached_property
    def sessions(self):
        """Server-side sessions of the portal (and any other signed-in front end)."""
        from .adapters.store.sessions import SessionStore

        return SessionStore(self.store.engine, self.store.reader)

    @cached_property
    def evidence(self):
        """Documents people attach to their cases, sealed at rest (engine/evidence.py)."""
        from .adapters.store.evidence import EvidenceStore
        from .engine.evidence import Evidence

        return Evidence(EvidenceStore(self.store.engine, self.store.reader), self.cases, self.registry.cipher,
                        self.gate, self.clock, self.settings.max_evidence_bytes)

    @cached_property
    def appeals(self):
        """Appeals to the tribunal recorded by officers (engine/appeals.py)."""
        from .engine.appeals import Appeals

        return Appeals(self.cases, lambda service: self.services.service(service).name, self.store.publish, self.clock)

    @cached_property
    def support(self):
        """A work coach's records with a person: claimant commitment, adjustments, appointee."""
        from .adapters.store.support import SupportStore
        from .engine.support import Support

        return Support(SupportStore(self.store.engine, self.store.reader), self.clock)

    @cached_property
    def retention(self):
        """Deleting and anonymising what is past its retention period (the nightly job)."""
        from .adapters.store.retention import RetentionStore
        from .engine.retention import Retention

        return Retention(RetentionStore(self.store.engine, self.store.reader, self.registry.store.projection),
                         self.pack.purposes, self.pack.retention, self.registry.store, self.store, self.registry.cipher, self.audit,
                         self.clock, lambda t, s, d: self.store.publish(t, s, d, self.clock.now()))

    @cached_property
    def payments(self):
        """Awards, schedules and the payment run (issue 17); pain.001 files into the payments folder."""
        from .adapters import bank_holidays, modulus
        from .adapters.payments import pain001
        from .adapters.store.payments import PaymentStore
        from .engine.payments import Payments, PeopleAndCases

        pack_dir = self.pack.root
        conf = modulus.settings(pack_dir)
        payments = Payments(PaymentStore(self.store.engine, self.store.reader), self.clock, lambda: self.rules,
                        lambda: self.services.catalogue, self.registry, modulus.tables(pack_dir),
                        bank_holidays.calendar(), self.settings.resolved_payments_dir(), conf["payer"],
                        pain001.write, self.audit, int(conf.get("file_max_payments", 10000)),
                        hold_days=int(conf.get("bank_details_change_hold_days", 14)),
                        code_minutes=int(conf.get("confirmation_code_minutes", 30)))
        payments.people = PeopleAndCases(self.messenger, self.cases)
        return payments

    @cached_property
    def services(self):
        from .engine.services import Services
        from .rules.catalogue import load_catalogue

        catalogue = load_catalogue(self.pack.root / "services.yaml", self.rules.tbs.variables, self.pack.attributes)
        return Services(self.rules, catalogue, self.registry)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    name = make_url(url).database
    return Path(name) if name and name != ":memory:" else None


def loose_files(settings: Settings) -> list[str]:
    """The data folder, database and key files that others than the owner may read (they
    should be 0700 and 0600), each with its mode."""
    out = []
    url = settings.database_url or f"sqlite:///{settings.data_dir / 'civic.db'}"
    db = sqlite_path(url)
    for path, want in [(settings.data_dir, 0o700), (settings.data_dir / "keys.json", 0o600),
                       *([(db, 0o600)] if db else []), (settings.resolved_audit_copy(), 0o600)]:
        if path.exists() and path.stat().st_mode & 0o077:
            out.append(f"{path} is mode {path.stat().st_mode & 0o777:o}; make it {want:o} (chmod {want:o} {path})")
    return out


def keys_for(settings: Settings) -> Keys:
    """Keys from settings; in the embedded default, the data folder's key file, made only
    together with a new database."""
    parts = (settings.pseudonym_keys, settings.data_keys, settings.audit_signing_key)
    if all(parts):
        return Keys.parse(*(p.get_secret_value() for p in parts))
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        from .adapters.crypto import KeyConfigurationError

        raise KeyConfigurationError("set CIVIC_PSEUDONYM_KEYS, CIVIC_DATA_KEYS and CIVIC_AUDIT_SIGNING_KEY: "
                                    "a shared database needs keys shared by every process")
    database = sqlite_path(settings.database_url) if settings.database_url else settings.data_dir / "civic.db"
    return Keys.local(settings.data_dir, database)


def channels_for(settings: Settings, shared=None, clock: Clock | None = None,
                 tz: str = "Europe/London") -> dict[Channel, ProviderPool]:
    """The inbox, letters and assisted contact always; SMS and email when providers are set.

    ``clock`` and ``tz`` date letters: the platform's clock, the pack's time zone."""
    from urllib.parse import unquote, urlsplit

    from .adapters.channels.email import SmtpEmail
    from .adapters.channels.letter import PdfLetters
    from .adapters.channels.local import AssistedContact, Inbox
    from .adapters.channels.sms import NotifySms

    pool = {"threshold": settings.provider_error_threshold, "cooldown": settings.provider_cooldown_seconds,
            "shared": shared}
    channels = {Channel.INBOX: ProviderPool([(Inbox(), 0, None)]),
                Channel.ASSISTED: ProviderPool([(AssistedContact(), 0, None)]),
                Channel.LETTER: ProviderPool([(PdfLetters("print-queue", settings.resolved_letters_dir(),
                                                          settings.sender_name, clock, tz), 0, None)])}
    if settings.sms_providers:
        channels[Channel.SMS] = ProviderPool(
            [(NotifySms(p.name, p.api_key.get_secret_value(), p.base_url, p.template_id, p.timeout_seconds),
              p.priority,
              p.rate_per_second) for p in settings.sms_providers], **pool)
    if settings.email_providers:
        members = []
        for p in settings.email_providers:
            url = urlsplit(p.url.get_secret_value())
            if url.scheme not in ("smtp", "smtp+starttls") or not url.hostname:
                raise ValueError(f"email provider {p.name!r}: the url is smtp://host:port or "
                                 "smtp+starttls://user:password@host:port")
            members.append((SmtpEmail(p.name, url.hostname, url.port or 25, p.sender, settings.sender_name,
                                      unquote(url.username) if url.username else None,
                                      unquote(url.password) if url.password else None,
                                      url.scheme == "smtp+starttls", concurrency=p.connections),
                            p.priority, p.rate_per_second))
        channels[Channel.EMAIL] = ProviderPool(members, **pool)
    return channels


def reply_schemas(pack: Pack) -> dict[str, Any]:
    """``partners/<name>.reply.schema.json`` in the pack: what each partner's reply must look like."""
    folder = pack.root / "partners"
    return {f.name.removesuffix(".reply.schema.json"): json.loads(f.read_text())
            for f in sorted(folder.glob("*.reply.schema.json"))} if folder.is_dir() else {}


def providers_for(settings: Settings, store: SqlStore, pack: Pack, clock: Clock, gate: PrivacyGate,
                  messenger: Messenger, signer: Signer, registry: Registry, services: Callable[[], Any],
                  consents: Callable[[], Any] | None = None, cases: Cases | None = None,
                  outbound: Outbound | None = None,
                  payments: Callable[[], Any] | None = None) -> dict[str, EffectProvider]:
    providers: dict[str, EffectProvider]
    outbound = outbound or Outbound(gate.audit, clock, Fence())
    share_transport: Any
    if settings.effects_url:
        token = settings.effects_token.get_secret_value() if settings.effects_token else None
        remote = share_transport = HttpProvider(settings.effects_url, token, outbound=outbound, clock=clock)
        providers = {k.value: remote for k in StepKind if k is not StepKind.WAIT}
    else:
        recorder = share_transport = RecordingProvider(store, clock)
        providers = {k.value: recorder for k in StepKind if k is not StepKind.WAIT}
        providers[StepKind.DECIDE.value] = DecideProvider(services, SimpleRulesProvider(pack.rules, clock), registry, clock)
        steps = RegistryStepsProvider(registry, recorder, clock, consents, pack.assurance, store.organisations,
                                      payments=payments)
        providers[StepKind.GRANT.value] = steps
        providers[StepKind.RECORD.value] = ConfirmOutcomes(steps, store, clock)
        if pack.templates:
            providers[StepKind.NOTIFY.value] = messenger
        if cases is not None and pack.queues:
            providers[StepKind.OPEN_CASE.value] = OpenCaseProvider(cases)
    if settings.partner_urls:
        partners = {name: HttpProvider(url, signer=signer) for name, url in settings.partner_urls.items()}
        share_transport = PartnerRouter(partners, share_transport)
    # Personal data for partners leaves only as bodies the gate built, through the outbound boundary.
    providers[StepKind.SHARE.value] = GatedShareProvider(gate, store, share_transport, outbound, reply_schemas(pack))
    return providers


def interview_transport(settings: Settings, store: SqlStore, clock: Clock, signer: Signer,
                        partner: str = "JobMatch"):
    """Where interview reservations go: the partner's reservation endpoint, signed, beside its
    profile endpoint in ``CIVIC_PARTNER_URLS``; without one, the local recorder stands in."""
    url = settings.partner_urls.get(partner)
    return HttpProvider(reservations_url(url), signer=signer) if url else RecordingProvider(store, clock)


def build(settings: Settings | None = None, clock: Clock | None = None,
          providers: dict[str, EffectProvider] | None = None, migrate: bool = True,
          channels: dict[Channel, ProviderPool] | None = None) -> App:
    settings = settings or Settings()
    clock = clock or clock_for(settings.now)
    pack = load_pack(settings.pack_dir)
    keys = keys_for(settings)  # before touching the database: a missing key is the clearer error
    url = settings.resolved_database_url()
    if (db_file := sqlite_path(url)) is not None and db_file.parent.is_dir():
        private_file(db_file)  # 0600 from the start; SQLite gives its -wal and -shm files the same mode
    writer, reader = make_engines(url, settings.sqlite_cache_mib)
    store = SqlStore(writer, settings.partitions, reader=reader)
    if migrate:
        store.migrate()
    people = RegistryStore(writer, reader)
    if migrate:
        people.keep_profiles({name for name, spec in pack.attributes.items() if spec.newest_wins})
    else:
        people.projection.newest_wins = frozenset(name for name, spec in pack.attributes.items() if spec.newest_wins)
    cipher, pseudonyms = FieldCipher(keys.data), Pseudonymiser(keys.pseudonym)
    registry = Registry(people, pack.attributes, cipher, clock)
    signer = Signer(keys.signing)
    audit = AuditLog(people, signer, clock, AppendOnlyCopy(settings.resolved_audit_copy()),
                     settings.audit_checkpoint_every, settings.audit_checkpoint_minutes)
    gate = PrivacyGate(registry, people, pack.purposes, pseudonyms, audit, clock, pack.checks)
    def may_send_many(parcels):  # a parcel that gives effect to a withdrawal always leaves
        asks = [i for i, p in enumerate(parcels) if not p.log.get("release")]
        whys = gate.may_send_many([(parcels[i].recipient, parcels[i].purpose, parcels[i].person) for i in asks])
        out = [None] * len(parcels)
        for i, why in zip(asks, whys, strict=True):
            out[i] = why
        return out

    outbound = Outbound(audit, clock, Fence(lambda p: may_send_many([p])[0], may_send_many))

    shared = settings.shared_limits if settings.shared_limits is not None else (
        writer.dialect.name == "postgresql" or settings.web_processes > 1)
    limits = SharedLimits(writer) if shared else None  # one limit for every process, not one each
    messenger = Messenger(MessageStore(writer, reader), store, registry, people, pack.templates, pack.settings,
                          channels if channels is not None else channels_for(settings, limits, clock, pack.settings.timezone),
                          cipher,
                          audit, clock, batch_size=settings.message_batch_size, portal_url=settings.public_url)

    def publish(type_: str, subject: str, data: dict) -> None:
        store.publish(type_, subject, data, clock.now())
        if type_ in (CONSENT_WITHDRAWN, CONSENT_REFUSED):  # nothing waiting goes out without a basis
            messenger.cancel_for_purpose(subject, data["purpose"], type_.rsplit(".", 1)[1])
            outbound.fence.settle(subject, data["purpose"])  # and nothing already in flight is left going
            if "app" in holder:  # and a slot held for them at the partner is let go
                holder["app"].interviews.release(subject, data["purpose"])

    consents = Consents(people, registry, pack.purposes, clock, settings.controller, publish, settings.public_url)
    case_store = CaseStore(writer, reader, store._engine_events)
    cases = Cases(case_store, pack.queues, pack.policy, clock)
    cases.gate = gate
    cases.registry = registry  # an accepted correction is a verified fact
    cases.organisation_id = lambda slug: organisation_id(store.organisations(), slug)
    _assisted_cases(messenger, cases)
    dispatcher = Dispatcher(pack.moments, clock, frozenset(t for t, et in pack.event_types.items() if et.ends_journeys))
    telemetry = PrometheusTelemetry()
    dispatcher.telemetry = telemetry
    holder: dict[str, App] = {}  # services load lazily, from the App
    providers = providers or providers_for(settings, store, pack, clock, gate, messenger, signer, registry,
                                           lambda: holder["app"].services, lambda: consents, cases, outbound,
                                           lambda: holder["app"].payments)
    effects = EffectRunner(store, providers, clock, settings.effect_batch_size, settings.effect_lease_seconds)
    effects.telemetry = telemetry
    if settings.effects_url and settings.effects_rate_per_second:  # one limit for every process, with ``limits``
        effects.allowance = Allowance("provider:effects", settings.effects_rate_per_second, limits)
    worker = Worker(store, dispatcher, effects, clock, settings.batch_size, settings.idle_sleep_seconds,
                    messenger, periodic=[(60.0, audit.due)], slice_size=settings.slice_size)
    card_key = min(keys.pseudonym)  # travel cards hash with the oldest key, so they survive new ones
    transit = Transit(TransitStore(writer, reader), gate, consents, audit,
                      lambda token: pseudonyms.pseudonym("travel-token", "fare-concession", token, card_key), clock,
                      checks_per_second=settings.transit_checks_per_second, limits=limits)
    app = App(settings, store, pack, clock, Intake(store, pack.event_types, clock, settings.event_time_earliest,
                                                  timedelta(days=settings.event_time_max_ahead_days)),
              Organisations(store, clock), dispatcher, effects, worker, registry,
              Resolver(registry, people, clock, publish), consents,
              Agreements(people, store, pack.attributes, pack.purposes, list(pack.checks), clock,
                         list(pack.event_types)),
              audit, gate, None, messenger, transit,
              Interviews(store, publish, clock, settings.public_url, gate=gate, outbound=outbound,
                         transport=interview_transport(settings, store, clock, signer)),
              cases, Officers(case_store, pack.policy, clock), outbound=outbound)
    app.health = HealthStore(writer, reader)
    app.intake.telemetry = telemetry
    app.intake.reidentify = gate.reidentify  # a partner's event about a pseudonym it was given
    subs = SubscriptionStore(writer, reader)
    transports: dict[str, Any] = {"HTTP": WebhookTransport(signer)}
    if settings.nats_url:  # events out on JetStream as well (the nats extra)
        from .adapters.effects.nats import NatsTransport

        transports["NATS"] = NatsTransport(settings.nats_url, settings.nats_prefix, replicas=settings.nats_replicas)
    app.subscriptions = Subscriptions(subs, people, store, list(pack.event_types), clock, settings.demo_mode,
                                      nats="NATS" in transports, nats_prefix=settings.nats_prefix)
    app.relay = Relay(subs, gate, outbound, store, clock, transports)
    worker.periodic.append((settings.subscription_poll_seconds, app.relay.run_once))
    holder["app"] = app
    # a bank-details change checked by an officer releases (or keeps) the payment held for it
    cases.on_resolved.append(lambda case, officer: case.queue == "verification" and (case.data or {}).get("change")
                             and app.payments.change_checked(case, officer))
    # an officer could not accept a check of what the person did or sent: the person is told why
    cases.on_resolved.append(lambda case, officer: _tell_rejected(app, case))
    app.intake.authority = Authority(load_authority(pack.root / "registry" / "authority.yaml", set(pack.event_types),
                                                    set(pack.attributes)), people, app.resolver, cases)
    app.intake.lifetime = Lifetime(registry, lambda t, s, d: store.publish(t, s, d, clock.now()), clock)

    def answered(type_: str, subject: str, data: dict) -> None:
        publish(type_, subject, data)
        if "bank_account" in data.get("answers", {}):  # an award held for want of an account can now pay
            app.payments.account_given(subject)

    app.questions = QuestionPlanner(registry, people, pack.forms, lambda sid: _service_needs(app, sid), answered)
    return app


def _assisted_cases(messenger: Messenger, cases: Cases) -> None:
    """The assisted channel's staff tasks become `assisted-contact` cases; resolving one as
    contacted or done delivers its message, with the officer's reason as how they reached them."""
    from .adapters.channels.local import AssistedContact
    from .engine.errors import Problem

    pool = messenger.channels.get(Channel.ASSISTED)
    for member in (pool.members if pool is not None else []):
        if isinstance(member.provider, AssistedContact):
            member.provider.cases = cases

    def delivered(case, officer) -> None:
        message = case.data.get("message")
        if case.queue != AssistedContact.QUEUE or not message or case.outcome not in ("contacted", "done"):
            return
        try:
            messenger.contacted(message, f"{officer.name if officer else 'staff'}: {case.outcome_reason}")
        except Problem:  # the message was settled another way meanwhile: the case keeps what was done
            pass

    cases.on_resolved.append(delivered)


def _tell_rejected(app: App, case) -> str | None:
    """A case resolved ``rejected`` about something the person did or sent: a change of bank details an
    officer found was not theirs (a ``verification`` case with ``data.change``), or documents attached to
    the case. The person is told, with the officer's reason (template ``check-rejected``, once per case).
    A correction is told by its own moment (``correction-outcome``). Returns the message id, or None."""
    from .engine.ports import Effect

    if case.outcome != "rejected" or case.queue == "correction" or "check-rejected" not in app.pack.templates:
        return None
    if case.queue == "verification" and (case.data or {}).get("change"):
        what = "bank-change"
    elif app.evidence.listed(case.id):
        what = "evidence"
    else:
        return None
    e = Effect(key=f"check-rejected:{case.id}", journey="", person=case.person, step="check",
               kind="notify", payload={"spec": {"template": "check-rejected"},
                                       "personalisation": {"values": {"what": what, "reason": case.outcome_reason}}},
               max_attempts=1, backoff_seconds=0, id=0, attempts=1)
    (r,) = app.messenger.perform([e])
    return (r.result or {}).get("message") if r.error is None else None


def _service_needs(app: App, service_id: str) -> tuple[str, tuple[str, ...]] | None:
    if not (app.pack.root / "services.yaml").exists():
        return None
    service = app.services.catalogue.get(service_id)
    return (service.name, service.needs) if service else None
