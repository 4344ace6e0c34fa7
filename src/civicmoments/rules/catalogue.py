"""The services catalogue, read from the pack and checked against the rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..packs.yamlmap import load

DELIVERY = ("automatic", "offer", "inform")


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    agency: str
    description: str
    delivery: str
    needs: tuple[str, ...]
    references: tuple[str, ...]
    eligibility: str | None = None  # a boolean variable
    amount: str | None = None  # an amount variable, per `amount_per`
    amount_per: str = "week"
    from_date: str | None = None  # a date variable: eligible from this day
    until_date: str | None = None
    relevant_for_days: int | None = None  # after from_date, how long it is worth showing
    screener: bool = False  # a check that the person may qualify, never an award
    apply: str | None = None  # where to apply (an https address)
    context: tuple[str, ...] = ()  # variables the explanation's words use (tax years, what is needed)
    pays: dict | None = None  # a paying service: {frequency, rates: {lowest age: parameter}, max_days?}

    @property
    def variables(self) -> list[str]:
        return [v for v in (self.eligibility, self.amount, self.from_date, self.until_date) if v] + list(self.context)


def load_catalogue(file: Path, variables, attributes) -> dict[str, Service]:
    if not file.exists():
        return {}
    doc = load(file)
    raw = doc.data.get("services") if isinstance(doc.data, dict) else None
    if not isinstance(raw, dict):
        raise doc.error((), "a catalogue file has a 'services' mapping")
    out = {}
    for sid, spec in raw.items():
        path = ("services", sid)
        if not isinstance(spec, dict):
            raise doc.error(path, f"service {sid!r} must be a mapping")
        for key in ("name", "agency", "description", "delivery", "needs", "references"):
            if not spec.get(key):
                raise doc.error(path, f"service {sid!r} needs '{key}'")
        if spec["delivery"] not in DELIVERY:
            raise doc.error(path + ("delivery",), f"delivery is one of {', '.join(DELIVERY)}")
        if not (spec.get("eligibility") or spec.get("from_date")):
            raise doc.error(path, f"service {sid!r} needs an 'eligibility' or a 'from_date' variable")
        for key in ("eligibility", "amount", "from_date", "until_date"):
            name = spec.get(key)
            if name is not None and name not in variables:
                raise doc.error(path + (key,), f"{name!r} is not a variable of the rules")
        if spec.get("apply") is not None and not str(spec["apply"]).startswith("https://"):
            raise doc.error(path + ("apply",), "apply is an https:// address where the person can apply")
        if spec.get("screener") and spec["delivery"] == "automatic":
            raise doc.error(path + ("screener",), "a screener is never an award: its delivery is offer or inform")
        for i, name in enumerate(spec.get("context") or ()):
            if name not in variables or variables[name].value_type is bool:
                raise doc.error(path + ("context", i), f"{name!r} is not a number, date or text variable of the rules")
        if spec.get("pays") is not None:
            pays = spec["pays"]
            frequencies = ("fortnightly-in-arrears", "four-weekly-in-arrears", "lump-sum-then-monthly")
            if not isinstance(pays, dict) or pays.get("frequency") not in frequencies:
                raise doc.error(path + ("pays",), f"pays has a frequency, one of {', '.join(frequencies)}")
            if not isinstance(pays.get("rates"), dict) or not pays["rates"]:
                raise doc.error(path + ("pays",), "pays has rates: {lowest age: parameter name}")
        for i, a in enumerate(spec["needs"]):
            if a not in attributes:
                raise doc.error(path + ("needs", i), f"{a!r} is not a declared attribute")
        out[sid] = Service(sid, spec["name"], spec["agency"], spec["description"], spec["delivery"],
                           tuple(spec["needs"]), tuple(spec["references"]), spec.get("eligibility"),
                           spec.get("amount"), spec.get("amount_per", "week"), spec.get("from_date"),
                           spec.get("until_date"), spec.get("relevant_for_days"), bool(spec.get("screener", False)),
                           spec.get("apply"), tuple(spec.get("context") or ()), spec.get("pays"))
    return out
