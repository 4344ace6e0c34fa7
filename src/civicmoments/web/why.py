"""A decision in words people use: one plain sentence first, then the facts used (each with
its source and quality), then each law once; for a "no" or an "unknown", what would change
the answer and where to give it. The words live in the pack's portal words (``why_*`` keys),
in every language of the pack; variable names never reach a person.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..rules.catalogue import Service
from ..rules.openfisca import Decision

Words = Callable[..., str]


def tax_year(t: Words, start: int) -> str:
    """A tax year as people say it: "2023 to 2024" (from 6 April to 5 April)."""
    return t("why_tax_year", start=start, end=start + 1)


def plain(decision: Decision, service: Service, t: Words, has: Callable[[str], bool],
          money: Callable[[float], str], day: Callable[[str], str]) -> dict[str, Any]:
    """What the decision page says: ``{summary, change, ask, facts, laws}``.

    ``t`` gives the page's words; ``has(key)`` says whether the pack has words for a key;
    ``money`` writes pounds; ``day`` writes an ISO date."""
    out = decision.outputs
    values: dict[str, Any] = {"service": t(f"service.{service.id}"), "day": day(decision.on)}
    for name, value in out.items():
        if isinstance(value, float):
            values[name] = money(value)
        elif name.startswith("jsa_relevant_tax_year"):
            values[name] = tax_year(t, int(value))
        else:
            values[name] = value
    if service.amount and service.amount in out:
        values["amount"] = money(float(out[service.amount]))
        values["per"] = t(f"why_per_{service.amount_per}")
    status = _status(decision, service)
    specific = f"why_{service.id}_{status}"
    summary = t(specific, **values) if has(specific) else t(f"why_{status}", **values)
    key = f"why_{service.id}_change"
    change = t(key, **values) if status == "no" and has(key) else None
    return {"summary": summary, "change": change, "status": status,
            "ask": [a["attribute"] for a in decision.ask], "facts": decision.inputs,
            "laws": list(dict.fromkeys(decision.references))}


def _status(decision: Decision, service: Service) -> str:
    if decision.status == "unknown":
        return f"unknown-{decision.reason or 'missing-facts'}"
    eligible = decision.outputs.get(service.eligibility, True) if service.eligibility else True
    if not eligible:
        return "no"
    if service.screener:
        return "screened"
    if service.amount and service.amount in decision.outputs:
        return "yes-amount"
    return "yes"


STATUSES = ("yes", "yes-amount", "screened", "no", "unknown-missing-facts", "unknown-not-published",
            "unknown-no-rules")


def check_words(words, catalogue, file) -> None:
    """Every status has words, and every service a name, in every language; or the pack does not
    load (PackError naming the words file)."""
    from ..packs.yamlmap import PackError

    needed = [f"why_{s}" for s in STATUSES] + [f"service.{sid}" for sid in catalogue]
    needed += [f"why_{sid}_change" for sid, s in catalogue.items() if s.eligibility]  # every "no" says what would change it
    for locale, found in words.catalogues.items():
        missing = [k for k in needed if k not in found]
        if missing:
            raise PackError(file / f"{locale}.yaml", None, f"missing words: {', '.join(missing)}")
