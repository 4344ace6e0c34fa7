"""The once-only question planner: never ask for what government already knows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..domain.clock import iso
from ..packs.registry import Form
from .errors import UnknownAttributeError, UnknownFormError
from .registry import Registry

ANSWERED = "civic.person.answered"


class QuestionPlanner:
    def __init__(self, registry: Registry, store, forms: Mapping[str, Form],
                 service_needs: Callable[[str], tuple[str, tuple[str, ...]] | None] | None = None,
                 publish: Callable[[str, str, dict], None] | None = None) -> None:
        self.registry, self.store, self.forms = registry, store, forms
        self.service_needs = service_needs  # a catalogue service's name and needs, if it is one
        self.publish = publish  # tells the person's journeys that they answered

    def needs(self, what: str) -> tuple[str, tuple[str, ...]]:
        """``what`` names a form, a service of the catalogue, or lists attributes separated by commas."""
        if what in self.forms:
            return what, self.forms[what].needs
        found = self.service_needs(what) if self.service_needs and "," not in what else None
        if found is not None:
            return what, found[1]
        names = tuple(a.strip() for a in what.split(",") if a.strip())
        if not names or len(names) == 1 and names[0] not in self.registry.attributes:
            raise UnknownFormError(f"{what!r} is not a form ({', '.join(sorted(self.forms))}) "
                                   "nor a list of attributes")
        for name in names:
            self.registry.spec(name)
        return "attributes", names

    def plan(self, person: str, what: str) -> dict[str, Any]:
        form, needs = self.needs(what)
        prof = self.registry.profile(person)
        known, ask, confirm = [], [], []
        for name in needs:
            fact = prof.get(name)
            if fact is not None:
                known.append({"attribute": name, "value": fact.value, "source": fact.source,
                              "tier": fact.tier.value, "basis": fact.basis.value, "observed_at": iso(fact.observed_at)})
                if fact.basis.value == "reported" and fact.tier.value != "gold":  # someone else's word: is it right?
                    confirm.append(known[-1])
            else:
                spec = self.registry.attributes[name]
                ask.append({"attribute": name, "type": spec.type, "sensitive": spec.sensitive,
                            "why": f"no organisation has told us your {name.replace('_', ' ')}"
                                   + (f", and we need it for {title}" if (title := self._title(form)) else "")})
        self.store.count_questions(form, asked=len(ask), known=len(known))
        return {"person": person, "for": what, "known": known, "ask": ask, "confirm": confirm}

    def _title(self, form: str) -> str | None:
        if form in self.forms:
            return self.forms[form].title
        found = self.service_needs(form) if self.service_needs else None
        return found[0] if found else None

    def answer(self, person: str, answers: Mapping[str, Any], cannot_answer: Sequence[str] = (),
               assisted: Mapping[str, str] | None = None) -> int:
        """The person's answers become bronze, declared facts; registers outrank them later.

        ``cannot_answer`` names what the person was asked and could not give (their Class 1
        earnings, say): the journey hears it, so a person can find it instead. An answer that
        agrees with what an organisation reported (a silver fact, basis ``reported``) is the
        person's **confirmation** of it: the journey hears which attributes were confirmed
        (``confirmed``), so an award waiting on it can go ahead. ``assisted`` (``{"officer": id,
        "how": "phone"}``) marks answers an officer gave for a person who is not online, as they asked.
        """
        if not isinstance(answers, Mapping) or not (answers or cannot_answer):
            raise UnknownAttributeError("answers map attribute names to values")
        for name in cannot_answer:
            self.registry.spec(name)
        before = self.registry.profile(person)
        confirmed = sorted(k for k, v in answers.items() if k in before and before[k].basis.value == "reported"
                           and before[k].value == v)
        raw: Sequence[Mapping[str, Any]] = [
            {"attribute": k, "value": v, "basis": "declared", "tier": "bronze"} for k, v in answers.items()]
        recorded = self.registry.record(None, person, raw, [f"/{_pointer_token(k)}" for k in answers]) if raw else 0
        if self.publish is not None:  # the journey hears which fields, the registry keeps the values
            data: dict[str, Any] = {"answers": {k: True for k in answers}, "confirmed": confirmed}
            if cannot_answer:
                data["cannot_answer"] = sorted(cannot_answer)
            if assisted:
                data["assisted"] = dict(assisted)
            self.publish(ANSWERED, person, data)
        return recorded

    def decision_gaps(self, decisions) -> list[str]:
        """What undecided decisions lack, once each: the survey asks these too (the plan then
        drops whatever an organisation already holds)."""
        return list(dict.fromkeys(a["attribute"] for d in decisions
                                  if d.status == "unknown" and d.reason == "missing-facts" for a in d.ask))


def _pointer_token(key: str) -> str:
    """A key as one JSON Pointer reference token (RFC 6901: ~ as ~0, / as ~1)."""
    return str(key).replace("~", "~0").replace("/", "~1")
