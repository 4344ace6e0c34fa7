"""Effect providers the platform performs itself: decisions, the career profile, grants and records.

- ``decide``: with the OpenFisca rules, from the person's registry facts, when every
  variable is an OpenFisca variable and the person is known; the result says whether
  every input was gold (then an award can be automatic) and what is missing. Otherwise
  the pack's simple CEL rules decide from the trigger event.
- ``record`` with ``profile: career``: the career profile from the registry: job
  history, occupation, skills, location, the services the person uses, and what is
  missing for matching.
- ``record`` with ``record``/``from_event``: facts the trigger event reported (a job
  ended: unemployed). They keep the event's sender as their source and ``reported`` as
  their basis, and their tier comes from the pack's assurance rules
  (``registry/assurance.yaml``: an employer's report is silver), never from the platform
  recording them.
- ``grant``, and ``record`` with ``decided``: facts the platform itself decided (a benefit
  awarded, a benefit stopped), with the platform as source, derived, gold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..domain.clock import Clock
from ..domain.consent import permits
from ..domain.organisations import Organisation
from ..domain.people import Basis, Tier, assured
from .ports import Effect, EffectProvider, EffectResult

PLATFORM = Organisation("civicmoments", "Civic Moments", (), ("facts:*",))
CAREER = ("occupation", "skills", "employer", "home_area", "aspirations", "travel_radius_miles",
          "highest_qualification")
HISTORY = "employment-history"  # the purpose under which employers share a person's history
SERVICES = ("jsa_claimant", "child_benefit_claimant", "jsa_claim_days")


class DecideProvider:
    def __init__(self, services: Callable[[], Any], simple: EffectProvider, registry, clock: Clock) -> None:
        self.services, self.simple, self.registry, self.clock = services, simple, registry, clock

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        known = self.registry.store.existing(sorted({e.person for e in effects}))
        out: list[EffectResult | None] = [None] * len(effects)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, e in enumerate(effects):
            variables = tuple(e.payload["spec"]["variables"])
            if e.person in known and all(v in self.services().rules.tbs.variables for v in variables):
                groups.setdefault(variables, []).append(i)
            else:
                out[i] = self.simple.perform([e])[0]
        for variables, idx in groups.items():  # one vectorised simulation per batch
            persons, households, roles, rows = [], [], [], []
            for n, i in enumerate(idx):  # each person within their household (a new child counts)
                person = effects[i].person
                members = self.registry.store.households_of(person)
                own = next((m["role"] for m in members if m["person_id"] == person), "adult")
                rows.append(len(persons))
                for pid, role in [(person, own)] + [(m["person_id"], m["role"]) for m in members
                                                    if m["person_id"] != person]:
                    persons.append(pid)
                    households.append(f"h{n}")
                    roles.append("child" if role == "child" else "adult")
            profiles = self.registry.profiles(sorted(set(persons)))
            everyone = self.services().rules.decide(persons, [profiles.get(p, {}) for p in persons], list(variables),
                                                    self.clock.now().date().isoformat(),
                                                    households=households, roles=roles)
            decided = [everyone[r] for r in rows]
            for i, d in zip(idx, decided, strict=True):
                all_gold = bool(d.inputs) and not d.ask and all(x["tier"] == "gold" for x in d.inputs)
                out[i] = EffectResult.done({"status": d.status, "outputs": d.outputs, "inputs": d.inputs,
                                            "ask": d.ask, "explanation": d.explanation,
                                            "references": d.references, "adverse": d.adverse,
                                            "all_gold": all_gold, "on": d.on, "reason": d.reason})
        return out  # type: ignore[return-value]


class RegistryStepsProvider:
    """``grant`` and ``record`` steps: facts into the registry, and the career profile."""

    def __init__(self, registry, recorder: EffectProvider, clock: Clock,
                 consents: Callable[[], Any] | None = None, assurance: Sequence[Any] = (),
                 organisations: Callable[[], list[dict[str, Any]]] | None = None,
                 payments: Callable[[], Any] | None = None) -> None:
        self.registry, self.recorder, self.clock = registry, recorder, clock
        self.payments = payments  # a grant of a paying service makes an award
        self.consents = consents  # for consent given through an organisation, e.g. at hiring
        self.assurance, self.organisations = list(assurance), organisations

    @staticmethod
    def facts(spec: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        """Every fact a step records: reported ones and the platform's own decisions."""
        return {**RegistryStepsProvider.reported(spec, event), **(spec.get("decided") or {})}

    @staticmethod
    def reported(spec: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        """The facts the trigger event reports: fixed ones, and ones copied from its data."""
        data = (event or {}).get("data") or {}
        copied = {attr: data[key] for attr, key in (spec.get("from_event") or {}).items() if data.get(key) is not None}
        return {**copied, **(spec.get("record") or {})}

    @staticmethod
    def valid_from(spec: dict[str, Any], event: dict[str, Any]) -> str | None:
        """The day recorded facts hold from: the trigger's date field named by ``valid_from``
        (a new job's ``start_date``), else when they are recorded."""
        day = ((event or {}).get("data") or {}).get(spec["valid_from"]) if spec.get("valid_from") else None
        return f"{day}T00:00:00Z" if isinstance(day, str) and len(day) == 10 else None

    def reporter(self, event: dict[str, Any] | None) -> Organisation:
        """The organisation that sent the trigger event (it owns the event's source); else the platform."""
        source = (event or {}).get("source")
        for org in (self.organisations() if self.organisations and source else []):
            sender = Organisation(org["id"], org["name"], tuple(org["sources"]), ("facts:*",))
            if not org.get("revoked_at") and sender.owns_source(source):
                return sender
        return PLATFORM

    def _writes(self, e: Effect) -> tuple[Organisation, list[dict[str, Any]]] | None:
        spec, event = e.payload.get("spec", {}), e.payload.get("event")
        since = self.valid_from(spec, event)
        own = [{"attribute": k, "value": v, "basis": "derived", "tier": "gold", "valid_from": since}
               for k, v in ((spec.get("record") or {}) if e.kind == "grant" else (spec.get("decided") or {})).items()]
        if e.kind == "grant":
            return (PLATFORM, own) if own else None
        reported = self.reported(spec, event)
        if not reported:
            return (PLATFORM, own) if own else None
        sender = self.reporter(event)
        rule = assured(self.assurance, Basis.REPORTED, sender.name, (event or {}).get("type"))
        tier = rule.tier if rule else (Tier.GOLD if sender is PLATFORM else Tier.SILVER)
        basis = Basis.REPORTED if sender is not PLATFORM else Basis.DERIVED
        return sender, [{"attribute": k, "value": v, "basis": basis.value, "tier": tier.value, "valid_from": since}
                        for k, v in reported.items()] + own

    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        self.recorder.perform(effects)  # every grant and record is also kept, once per key
        known = self.registry.store.existing(sorted({e.person for e in effects}))
        by_source: dict[str, tuple[Organisation, list]] = {}
        for e in effects:  # facts first, so that the career profile includes them
            found = self._writes(e) if e.person in known else None
            if found:
                sender, facts = found
                by_source.setdefault(sender.id, (sender, []))[1].append((e.person, facts))
        for sender, writes in by_source.values():
            reported = [(p, [f for f in fs if f["basis"] != "derived"]) for p, fs in writes]
            own = [(p, [f for f in fs if f["basis"] == "derived"]) for p, fs in writes]
            if any(fs for _, fs in reported):
                self.registry.record_many(sender, [(p, fs) for p, fs in reported if fs])
            if any(fs for _, fs in own):
                self.registry.record_many(PLATFORM, [(p, fs) for p, fs in own if fs])
        careers = [e.person for e in effects if e.payload.get("spec", {}).get("profile") == "career"
                   and e.person in known]
        profiles = self.careers(careers) if careers else {}
        awarded = self.awards(effects, known)
        out = []
        for e in effects:
            spec = e.payload.get("spec", {})
            recorded = sorted(self.facts(spec, e.payload.get("event"))) if e.person in known else []
            result: dict[str, Any] = {"recorded": recorded}
            if spec.get("profile") == "career":
                result.update(profiles.get(e.person, {"known": [], "missing": list(CAREER)}))
            if (e.key, "grant") in awarded:
                result.update(awarded[(e.key, "grant")])
            if (e.key, "payments") in awarded:
                result["payments"] = awarded[(e.key, "payments")]
            elif spec.get("payments") and e.person in known and self.payments is not None:
                result["payments"] = self.award_change(spec["payments"], e)
            if spec.get("consent") and e.person in known and self.consents is not None:
                receipt = self.consents().give(e.person, spec["consent"], channel="employer")
                result["consent"] = {"purpose": spec["consent"], "record": receipt["record_id"]}
            out.append(EffectResult.done(result))
        return out

    def awards(self, effects: Sequence[Effect], known: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
        """``{(effect key, "grant" | "payments"): result}`` for the batch's grants of a paying service and its ``payments: {first:
        SERVICE}`` records: the awards made (or found, once per award key) in one go, grants first, then
        each one's first payment, for the notice."""
        if self.payments is None:
            return {}
        grants = [(e, e.payload["spec"]["service"], e.key, "grant") for e in effects
                  if e.kind == "grant" and e.payload.get("spec", {}).get("service") and e.person in known]
        for e in effects:
            change = e.payload.get("spec", {}).get("payments") or {}
            if "first" in change and not {"suspend", "resume"} & change.keys() and e.person in known:
                grants.append((e, change["first"], f"{e.journey}:{change.get('award_step', 'award')}", "payments"))
        if not grants:
            return {}
        p = self.payments()
        made = p.award_many([(e.person, service, key) for e, service, key, _ in grants])
        firsts = p.first_payments([(e.person, service) for (e, service, _, _), a in zip(grants, made, strict=True)
                                   if isinstance(a, dict)])
        return {(e.key, role): self._award_result(a, firsts.get((e.person, service)) or {})
                for (e, service, _, role), a in zip(grants, made, strict=True)}

    @staticmethod
    def _award_result(award: dict[str, Any] | None | Exception, first: dict[str, Any]) -> dict[str, Any]:
        if isinstance(award, Exception):
            return {"award": None, "award_gap": str(award)}
        if award is None:
            return {}
        return {"award": award["id"], "award_end": award["end_on"].isoformat() if award["end_on"] else None,
                "award_hold": award["hold"] or "",
                "first_payment_pence": int(first.get("amount") or 0),
                "first_payment_date": first["pay_on"].isoformat() if first else "",
                "account_last4": first.get("last4") or ""}

    def award(self, e: Effect, service: str, key: str | None = None, start=None) -> dict[str, Any]:
        """The award a grant makes (once per grant key), from ``start`` (a date; today if None): its first
        payment, for the notice."""
        made = self.payments().award_many([(e.person, service, key or e.key)], start)[0]
        first = self.payments().first_payment(e.person, service) if isinstance(made, dict) else None
        return self._award_result(made, first or {})

    def award_change(self, change: dict[str, Any], e: Effect) -> dict[str, Any]:
        """``payments: {suspend|resume|stop|restart: SERVICE, from: EVENT_DATE_FIELD}`` on a record step: an
        adverse change waiting for review suspends payments from the reported day; an overturn resumes them
        (arrears follow); an upheld change stops the award from that day; a stop overturned later (a
        mandatory reconsideration) restarts it with a new award from that day (once per step: the days
        since are paid in the next run, as arrears)."""
        from datetime import date

        data = ((e.payload.get("event") or {}).get("data") or {})
        day = data.get(change.get("from", "")) if change.get("from") else None
        on = date.fromisoformat(day[:10]) if isinstance(day, str) else self.clock.now().date()
        p = self.payments()
        if "suspend" in change:
            return {"suspended": p.suspend(e.person, change["suspend"], on, "an adverse change awaits review")}
        if "resume" in change:
            return {"released": p.resume(e.person, change["resume"])}
        if "first" in change:  # the award a grant made (or makes now: idempotent on the grant's key)
            return self.award(e, change["first"], key=f"{e.journey}:{change.get('award_step', 'award')}")
        if "stop" in change:
            return {"cancelled": p.stop(e.person, change["stop"], on)}
        if "restart" in change:
            return self.award(e, change["restart"], key=e.key, start=on)
        return {}

    def history_allowed(self, persons: Sequence[str]) -> set[str]:
        """Who lets their employers' history be used (``employment-history``, opt-in); all, if the pack has no such purpose."""
        if self.consents is None or HISTORY not in self.consents().purposes:
            return set(persons)
        c = self.consents()
        latest = c.store.latest_consents(list(persons), HISTORY)
        return {p for p in persons if permits(c.purposes[HISTORY], latest.get(p))[0]}

    def careers(self, persons: Sequence[str]) -> dict[str, dict[str, Any]]:
        wanted = list(CAREER) + list(SERVICES)
        facts = self.registry.store.facts_of(persons, ["employer"])
        profiles = self.registry.profiles(persons, only=wanted)
        allowed = self.history_allowed(persons)
        out = {}
        for person in persons:
            profile = profiles.get(person, {})
            if person not in allowed:  # withdrawn: the employer's history is not used at all
                profile = {a: f for a, f in profile.items() if a != "employer"}
            history = sorted(({"employer": f.value, "from": f.valid_from.date().isoformat(), "source": f.source}
                              for f in facts.get(person, []) if person in allowed), key=lambda h: h["from"])
            out[person] = {"known": sorted(a for a in CAREER if a in profile),
                           "missing": [a for a in CAREER if a not in profile],
                           "employment_history": history,
                           "services": sorted(a for a in SERVICES if a in profile and profile[a].value)}
        return out
