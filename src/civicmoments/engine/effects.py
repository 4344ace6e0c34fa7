"""Effect workers: claim outbox rows in batches, perform them idempotently, settle the results.

Retries with exponential backoff are declared on each step (``retry``); an effect that
keeps failing, or fails for good, is dead-lettered and its journey hears about it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from ..domain.clock import Clock
from ..domain.moments import RESULT_KINDS
from ..logs import get
from .ports import Effect, EffectProvider, EffectResult, NoTelemetry, Settlement, Telemetry

log = get("civic.effects")
_RESULT_KINDS = {k.value for k in RESULT_KINDS}


class EffectRunner:
    telemetry: Telemetry = NoTelemetry()  # bootstrap sets the Prometheus one

    def __init__(self, store, providers: Mapping[str, EffectProvider], clock: Clock,
                 batch_size: int = 200, lease_seconds: float = 30.0) -> None:
        self.store, self.providers, self.clock = store, providers, clock
        self.batch_size, self.lease_seconds = batch_size, lease_seconds
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="effect-kinds")

    allowance = None  # a providers.Allowance when the effects service has a rate limit

    def run_once(self) -> int:
        """Claim and perform one batch; returns how many effects were claimed. With an allowance,
        tokens are taken only when effects are waiting, a batch is no larger than the tokens taken,
        and the tokens a smaller claim left unused are given back."""
        limit = self.batch_size
        if self.allowance is not None:
            if not self.store.effects_waiting(self.clock.now()):
                return 0
            limit = self.allowance.take(self.batch_size)
            if limit == 0:
                return 0
        effects = self.store.claim_effects(self.clock.now(), limit, self.lease_seconds)
        if self.allowance is not None:
            self.allowance.give_back(limit - len(effects))
        if not effects:
            return 0
        by_kind: dict[str, list[Effect]] = defaultdict(list)
        for e in effects:
            by_kind[e.kind].append(e)
        settlements = []
        # Kinds run side by side: a partner's answers are awaited while decisions are computed.
        kinds = list(by_kind.items())
        performed = (list(self.pool.map(lambda kg: self._perform(*kg), kinds)) if len(kinds) > 1
                     else [self._perform(*kinds[0])])
        for (kind, group), results in zip(kinds, performed, strict=True):
            for e, r in zip(group, results, strict=True):
                settlements.append(Settlement(e, r, kind in _RESULT_KINDS))
                if r.error:
                    log.warning("effect failed", key=e.key, kind=kind, attempt=e.attempts,
                                verdict=r.verdict.value, error=r.error)
        self.store.settle_effects(settlements, self.clock.now())
        return len(effects)

    def _perform(self, kind: str, group: list[Effect]) -> list[EffectResult]:
        provider = self.providers.get(kind)
        if provider is None:
            return [EffectResult.fail(f"no provider is configured for {kind!r} effects")] * len(group)
        try:
            with self.telemetry.timed_effect(kind):
                results = provider.perform(group)
        except Exception as exc:  # noqa: BLE001 - a provider crash is a passing fault
            return [EffectResult.retry(f"{type(exc).__name__}: {exc}")] * len(group)
        if len(results) != len(group):
            return [EffectResult.retry("provider returned the wrong number of results")] * len(group)
        return results
