"""The one place that decides which adapter serves which port."""

from __future__ import annotations

from dataclasses import dataclass

from .adapters.effects.http import HttpProvider
from .adapters.effects.local import RecordingProvider, SimpleRulesProvider
from .adapters.store.engine import make_engines
from .adapters.store.sql import SqlStore
from .domain.clock import Clock, SystemClock
from .domain.moments import StepKind
from .engine.dispatcher import Dispatcher
from .engine.effects import EffectRunner
from .engine.intake import Intake
from .engine.organisations import Organisations
from .engine.ports import EffectProvider
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


def providers_for(settings: Settings, store: SqlStore, pack: Pack, clock: Clock) -> dict[str, EffectProvider]:
    if settings.effects_url:
        token = settings.effects_token.get_secret_value() if settings.effects_token else None
        remote = HttpProvider(settings.effects_url, token)
        return {k.value: remote for k in StepKind if k is not StepKind.WAIT}
    recorder = RecordingProvider(store, clock)
    providers: dict[str, EffectProvider] = {k.value: recorder for k in StepKind if k is not StepKind.WAIT}
    providers[StepKind.DECIDE.value] = SimpleRulesProvider(pack.rules)
    return providers


def build(settings: Settings | None = None, clock: Clock | None = None,
          providers: dict[str, EffectProvider] | None = None, migrate: bool = True) -> App:
    settings = settings or Settings()
    clock = clock or SystemClock()
    pack = load_pack(settings.pack_dir)
    writer, reader = make_engines(settings.resolved_database_url())
    store = SqlStore(writer, settings.partitions, reader=reader)
    if migrate:
        store.migrate()
    dispatcher = Dispatcher(pack.moments, clock)
    effects = EffectRunner(store, providers or providers_for(settings, store, pack, clock), clock,
                           settings.effect_batch_size, settings.effect_lease_seconds)
    worker = Worker(store, dispatcher, effects, clock, settings.batch_size, settings.idle_sleep_seconds)
    return App(settings, store, pack, clock, Intake(store, pack.event_types, clock),
               Organisations(store, clock), dispatcher, effects, worker)
