"""The one place that decides which adapter serves which port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .adapters.crypto import FieldCipher, Keys, Pseudonymiser, Signer
from .adapters.effects.http import HttpProvider, PartnerRouter
from .adapters.effects.local import RecordingProvider, SimpleRulesProvider
from .adapters.effects.share import GatedShareProvider
from .adapters.store.cases import CaseStore
from .adapters.store.engine import make_engines
from .adapters.store.messages import MessageStore
from .adapters.store.registry import RegistryStore
from .adapters.store.sql import SqlStore
from .adapters.store.transit import TransitStore
from .domain.clock import Clock, clock_for
from .domain.messages import Channel
from .domain.moments import StepKind
from .engine.agreements import Agreements
from .engine.audit import AuditLog
from .engine.cases import Cases, OpenCaseProvider
from .engine.consents import CONSENT_WITHDRAWN, Consents
from .engine.dispatcher import Dispatcher
from .engine.effects import EffectRunner
from .engine.gate import PrivacyGate
from .engine.identity import Resolver
from .engine.intake import Intake
from .engine.interviews import Interviews
from .engine.messages import Messenger
from .engine.officers import Officers
from .engine.organisations import Organisations
from .engine.ports import EffectProvider
from .engine.providers import ProviderPool
from .engine.questions import QuestionPlanner
from .engine.registry import Registry
from .engine.steps import DecideProvider, RegistryStepsProvider
from .engine.transit import Transit
from .engine.worker import Worker
from .packs import Pack, load_pack
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

    @cached_property
    def rules(self):
        """The pack's OpenFisca rules, loaded on first use (it takes a second)."""
        from .rules.openfisca import RulesEngine

        return RulesEngine(self.pack.root)

    @cached_property
    def services(self):
        from .engine.services import Services
        from .rules.catalogue import load_catalogue

        catalogue = load_catalogue(self.pack.root / "services.yaml", self.rules.tbs.variables, self.pack.attributes)
        return Services(self.rules, catalogue, self.registry)


def keys_for(settings: Settings) -> Keys:
    """Keys from settings; in the embedded default, a local key file made on first use."""
    parts = (settings.pseudonym_keys, settings.data_keys, settings.audit_signing_key)
    if all(parts):
        return Keys.parse(*(p.get_secret_value() for p in parts))
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        from .adapters.crypto import KeyConfigurationError

        raise KeyConfigurationError("set CIVIC_PSEUDONYM_KEYS, CIVIC_DATA_KEYS and CIVIC_AUDIT_SIGNING_KEY: "
                                    "a shared database needs keys shared by every process")
    return Keys.local(settings.data_dir)


def channels_for(settings: Settings) -> dict[Channel, ProviderPool]:
    """The inbox, letters and assisted contact always; SMS and email when providers are set."""
    from urllib.parse import unquote, urlsplit

    from .adapters.channels.email import SmtpEmail
    from .adapters.channels.letter import PdfLetters
    from .adapters.channels.local import AssistedContact, Inbox
    from .adapters.channels.sms import NotifySms

    pool = {"threshold": settings.provider_error_threshold, "cooldown": settings.provider_cooldown_seconds}
    channels = {Channel.INBOX: ProviderPool([(Inbox(), 0, None)]),
                Channel.ASSISTED: ProviderPool([(AssistedContact(), 0, None)]),
                Channel.LETTER: ProviderPool([(PdfLetters("print-queue", settings.resolved_letters_dir(),
                                                          settings.sender_name), 0, None)])}
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


def providers_for(settings: Settings, store: SqlStore, pack: Pack, clock: Clock, gate: PrivacyGate,
                  messenger: Messenger, signer: Signer, registry: Registry, services: Callable[[], Any],
                  consents: Callable[[], Any] | None = None, cases: Cases | None = None) -> dict[str, EffectProvider]:
    providers: dict[str, EffectProvider]
    if settings.effects_url:
        token = settings.effects_token.get_secret_value() if settings.effects_token else None
        remote = HttpProvider(settings.effects_url, token)
        providers = {k.value: remote for k in StepKind if k is not StepKind.WAIT}
    else:
        recorder = RecordingProvider(store, clock)
        providers = {k.value: recorder for k in StepKind if k is not StepKind.WAIT}
        providers[StepKind.DECIDE.value] = DecideProvider(services, SimpleRulesProvider(pack.rules), registry, clock)
        steps = RegistryStepsProvider(registry, recorder, clock, consents)
        providers[StepKind.GRANT.value] = providers[StepKind.RECORD.value] = steps
        if pack.templates:
            providers[StepKind.NOTIFY.value] = messenger
        if cases is not None and pack.queues:
            providers[StepKind.OPEN_CASE.value] = OpenCaseProvider(cases)
    if settings.partner_urls:
        partners = {name: HttpProvider(url, signer=signer) for name, url in settings.partner_urls.items()}
        providers[StepKind.SHARE.value] = PartnerRouter(partners, providers[StepKind.SHARE.value])
    # Personal data for partners leaves only through the gate.
    providers[StepKind.SHARE.value] = GatedShareProvider(gate, store, providers[StepKind.SHARE.value])
    return providers


def build(settings: Settings | None = None, clock: Clock | None = None,
          providers: dict[str, EffectProvider] | None = None, migrate: bool = True,
          channels: dict[Channel, ProviderPool] | None = None) -> App:
    settings = settings or Settings()
    clock = clock or clock_for(settings.now)
    pack = load_pack(settings.pack_dir)
    keys = keys_for(settings)  # before touching the database: a missing key is the clearer error
    writer, reader = make_engines(settings.resolved_database_url())
    store = SqlStore(writer, settings.partitions, reader=reader)
    if migrate:
        store.migrate()
    people = RegistryStore(writer, reader)
    cipher, pseudonyms = FieldCipher(keys.data), Pseudonymiser(keys.pseudonym)
    registry = Registry(people, pack.attributes, cipher, clock)
    signer = Signer(keys.signing)
    audit = AuditLog(people, signer, clock)
    gate = PrivacyGate(registry, people, pack.purposes, pseudonyms, audit, clock, pack.checks)

    messenger = Messenger(MessageStore(writer, reader), store, registry, people, pack.templates, pack.settings,
                          channels if channels is not None else channels_for(settings), cipher,
                          audit, clock, portal_url=settings.public_url)

    def publish(type_: str, subject: str, data: dict) -> None:
        store.publish(type_, subject, data, clock.now())
        if type_ == CONSENT_WITHDRAWN:  # nothing waiting goes out under a withdrawn consent
            messenger.cancel_for_purpose(subject, data["purpose"])

    consents = Consents(people, registry, pack.purposes, clock, settings.controller, publish)
    case_store = CaseStore(writer, reader, store._engine_events)
    cases = Cases(case_store, pack.queues, pack.policy, clock)
    dispatcher = Dispatcher(pack.moments, clock)
    holder: dict[str, App] = {}  # services load lazily, from the App
    providers = providers or providers_for(settings, store, pack, clock, gate, messenger, signer, registry,
                                           lambda: holder["app"].services, lambda: consents, cases)
    effects = EffectRunner(store, providers, clock, settings.effect_batch_size, settings.effect_lease_seconds)
    worker = Worker(store, dispatcher, effects, clock, settings.batch_size, settings.idle_sleep_seconds,
                    messenger)
    card_key = min(keys.pseudonym)  # travel cards hash with the oldest key, so they survive new ones
    transit = Transit(TransitStore(writer, reader), gate, consents, audit,
                      lambda token: pseudonyms.pseudonym("travel-token", "fare-concession", token, card_key), clock,
                      checks_per_second=settings.transit_checks_per_second)
    app = App(settings, store, pack, clock, Intake(store, pack.event_types, clock),
              Organisations(store, clock), dispatcher, effects, worker, registry,
              Resolver(registry, people, clock, publish), consents,
              Agreements(people, store, pack.attributes, pack.purposes, list(pack.checks), clock),
              audit, gate, None, messenger, transit, Interviews(store, publish, clock, settings.public_url),
              cases, Officers(case_store, pack.policy, clock))
    holder["app"] = app
    app.questions = QuestionPlanner(registry, people, pack.forms, lambda sid: _service_needs(app, sid), publish)
    return app


def _service_needs(app: App, service_id: str) -> tuple[str, tuple[str, ...]] | None:
    if not (app.pack.root / "services.yaml").exists():
        return None
    service = app.services.catalogue.get(service_id)
    return (service.name, service.needs) if service else None
