"""Payments, the engine side: rate tables from the rules, awards from grants, the payment run.

Rates come from the pack's OpenFisca parameters (``jsa_new_style.rate_under_25`` ...), each figure
with the GOV.UK page it cites and the day its figures are published to (``published_until``); a
service's catalogue entry (``services.yaml``, ``pays``) names the parameters, the frequency and the
longest duration. Nothing here reads the wall clock: days come from the caller's clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..domain.payments import AgeBands, Award, Frequency, Rate, RateTable, award_periods, end_to_end_id, jsa_end


def rate_table(tbs, name: str, published_until: dict[str, date]) -> RateTable:
    """The dated figures of parameter ``name`` (pounds, converted to pence) with their GOV.UK sources.

    Raises KeyError for an unknown parameter, ValueError when it declares no ``published_until``."""
    node = tbs.parameters
    for part in name.split("."):
        node = node.children[part] if hasattr(node, "children") else getattr(node, part)
    if name not in published_until:
        raise ValueError(f"parameter {name} declares no published_until: its figures cannot be scheduled")
    rates = []
    for v in node.values_list:
        if v.value is None:
            continue
        refs = v.metadata.get("reference") or node.metadata.get("reference") or []
        href = next((r["href"] for r in refs if isinstance(r, dict) and r.get("href")), "")
        rates.append(Rate(date.fromisoformat(v.instant_str), int(Decimal(str(v.value)) * 100), href))
    return RateTable(tuple(sorted(rates, key=lambda r: r.valid_from)), published_until[name])


def bands_for(rules, pays: dict[str, Any]) -> AgeBands:
    """The age-banded rate tables a service's ``pays`` entry names."""
    return AgeBands({int(age): rate_table(rules.tbs, name, rules.published_until)
                     for age, name in pays["rates"].items()})


def max_days(rules, pays: dict[str, Any], on: date) -> int | None:
    name = pays.get("max_days")
    if not name:
        return None
    node = rules.tbs.parameters
    for part in name.split("."):
        node = getattr(node, part)
    return int(node(on.isoformat()))


def build_award(rules, service_id: str, pays: dict[str, Any], award_id: str, person: str, start: date,
                born: date | None, payee: str | None = None) -> Award:
    """An award of ``service_id`` from ``start``: its end (the law's longest duration), its rate periods as
    far as rates are published. Raises RateNotPublishedError when no rate is published for ``start``."""
    bands = bands_for(rules, pays)
    days = max_days(rules, pays, start)
    end = jsa_end(start, days) if days else None
    return Award(award_id, service_id, person, payee or person, Frequency(pays["frequency"]), start, end,
                 award_periods(start, end, bands, born))


def next_day(day: date) -> date:
    return day + timedelta(days=1)


# -- the service ------------------------------------------------------------------------------

import hashlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from ..domain.bank_accounts import BankDetailsError, ModulusTables, check, last_four  # noqa: E402
from ..domain.clock import Clock, iso  # noqa: E402
from ..domain.payments import AwardPeriod, Calendar, Payment, schedule  # noqa: E402

PAY_PURPOSE = "benefit-payment"
ACTIVE, SUSPENDED, STOPPED = "active", "suspended", "stopped"


class AlreadyRunError(Exception):
    """A payment run for this day has finished already: nothing is paid twice."""

    def __init__(self, run: dict[str, Any]) -> None:
        super().__init__(f"The payment run for {run['run_on']} has already been done: {run['payments']} payments, "
                         f"£{run['total'] / 100:,.2f}. Nothing was paid again.")
        self.run = run


def _periods_json(periods: Sequence[AwardPeriod]) -> list[dict[str, Any]]:
    return [{"start": p.start.isoformat(), "end": p.end.isoformat(), "pence": p.rate.pence, "per": p.rate.per,
             "source": p.rate.source, "band": p.band, "valid_from": p.rate.valid_from.isoformat()}
            for p in periods]


def _periods(rows: Sequence[dict[str, Any]]) -> tuple[AwardPeriod, ...]:
    return tuple(AwardPeriod(date.fromisoformat(r["start"]), date.fromisoformat(r["end"]),
                             Rate(date.fromisoformat(r["valid_from"]), r["pence"], r["source"], r["per"]), r["band"])
                 for r in rows)


def payment_row(p: Payment, person: str, now) -> dict[str, Any]:
    return {"award_id": p.award, "person_id": person, "period": p.key[1], "kind": p.kind, "start_on": p.start,
            "end_on": p.end, "amount": p.amount, "due_on": p.due, "pay_on": p.pay_on, "status": "scheduled",
            "held_reason": None, "file_ref": None, "account_last4": None, "sources": list(p.sources),
            "end_to_end": end_to_end_id(p.award, p.key[1], p.kind), "status_at": now}


class Payments:
    """Awards from grants, their schedules, and the daily payment run through a payments port.

    ``accounts(persons)`` unseals bank details ("SS-SS-SS AAAAAAAA") for the run only; ``writer`` is the
    payments port: ``writer(folder, ref, created, day, payer, transfers, count, total) -> Path``."""

    def __init__(self, store, clock: Clock, rules: Callable[[], Any], catalogue: Callable[[], dict[str, Any]],
                 registry, tables: ModulusTables, calendar: Calendar, folder: Path, payer: dict[str, str],
                 writer: Callable[..., Path], audit=None, file_max_payments: int = 10000,
                 accounts: Callable[[Sequence[str]], dict[str, str]] | None = None,
                 hold_days: int = 14, code_minutes: int = 30) -> None:
        self.store, self.clock, self.rules, self.catalogue = store, clock, rules, catalogue
        self.registry, self.tables, self.calendar, self.folder = registry, tables, calendar, Path(folder)
        self.payer, self.writer, self.audit, self.file_max = payer, writer, audit, file_max_payments
        self.accounts = accounts or self._unseal
        self.hold_days, self.code_minutes = hold_days, code_minutes  # payments.yaml's settings
        self.people: Any = None  # PeopleAndCases: the messenger and the case service, set by the app

    # -- awards -------------------------------------------------------------------------------
    def pays(self, service_id: str) -> dict[str, Any] | None:
        service = self.catalogue().get(service_id)
        return service.pays if service is not None else None

    def award(self, person: str, service_id: str, key: str, start: date | None = None) -> dict[str, Any] | None:
        """The award a grant of ``service_id`` makes (None: the service does not pay). Idempotent on ``key``.

        Its periods come from the published rates and the person's date of birth; its payments are
        scheduled as far as rates and the bank-holiday calendar reach. No account held: the award is held
        (``hold = no-account``) until the person gives one. Raises RateNotPublishedError when no rate is
        published for its first day."""
        made = self.award_many([(person, service_id, key)], start)[0]
        if isinstance(made, Exception):
            raise made
        return made

    def award_many(self, grants: Sequence[tuple[str, str, str]], start: date | None = None
                   ) -> list[dict[str, Any] | None | Exception]:
        """``award`` for many grants ``(person, service id, key)`` at once: one read of the awards already
        made under those keys, one of the people's dates of birth and accounts, and one transaction for the
        new awards and their payments. Per grant, in order: the award (a dict of its row), None (the
        service does not pay), or the RateNotPublishedError that stopped it."""
        from ..domain.payments import RateNotPublishedError

        now = self.clock.now()
        start = start or now.date()
        out: list[dict[str, Any] | None | Exception] = [None] * len(grants)
        paying = [(i, g) for i, g in enumerate(grants) if self.pays(g[1]) is not None]
        if not paying:
            return out
        held = self.store.awards_by_key([g[2] for _, g in paying])
        todo = [(i, g) for i, g in paying if g[2] not in held]
        if todo:
            persons = sorted({g[0] for _, g in todo})
            born = self._born_many(persons)
            accounts = self.accounts(persons)
            bands: dict[str, tuple[AgeBands, int | None]] = {}
            rows, pays, made = [], [], {}
            for i, (person, service_id, key) in todo:
                if key in made:
                    continue  # the same grant twice in one batch: one award
                pays_spec = self.pays(service_id)
                try:
                    if service_id not in bands:
                        bands[service_id] = (bands_for(self.rules(), pays_spec),
                                             max_days(self.rules(), pays_spec, start))
                    band, days = bands[service_id]
                    end = jsa_end(start, days) if days else None
                    a = Award(str(uuid.uuid4()), service_id, person, person, Frequency(pays_spec["frequency"]),
                              start, end, award_periods(start, end, band, born.get(person)))
                except RateNotPublishedError as exc:
                    out[i] = exc
                    continue
                plan = schedule(a, self.calendar)
                made[key] = a.id
                rows.append({"id": a.id, "key": key, "service": service_id, "person_id": person,
                             "payee_id": a.payee, "frequency": a.frequency.value, "start_on": a.start,
                             "end_on": a.end, "periods": _periods_json(a.periods), "status": ACTIVE,
                             "suspended_from": None, "hold": None if accounts.get(person) else "no-account",
                             "scheduled_to": plan.horizon, "schedule_stops": plan.stops, "created_at": now,
                             "updated_at": now})
                pays.extend(payment_row(p, person, now) for p in plan.payments)
            ids = self.store.add_awards(rows, pays)
            taken = [k for k, v in ids.items() if made.get(k) != v]  # another worker's award came first
            held.update({r["key"]: r for r in rows if ids.get(r["key"]) == r["id"]})
            held.update(self.store.awards_by_key(taken) if taken else {})
        for i, (_, _, key) in paying:
            if out[i] is None:
                out[i] = held.get(key)
        return out

    def first_payments(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """``first_payment`` for many ``(person, service id)`` pairs at once: ``{pair: first payment}`` for
        the pairs that have one."""
        persons = sorted({p for p, _ in wanted})
        if not persons:
            return {}
        held = self.store.awards_of_many(persons)
        firsts = self.store.first_payments([a["id"] for p in persons for a in held.get(p, ())])
        accounts: dict[str, str] | None = None
        out = {}
        for person, service_id in dict.fromkeys(wanted):
            for a in held.get(person, ()):
                if a["service"] == service_id and a["id"] in firsts:
                    if accounts is None:
                        accounts = self.accounts(persons)
                    account = accounts.get(person, "")
                    out[(person, service_id)] = {**firsts[a["id"]],
                                                 "last4": last_four(account.split(" ")[-1]) if account else None}
                    break
        return out

    def _born(self, person: str) -> date | None:
        return self._born_many([person]).get(person)

    def _born_many(self, persons: Sequence[str]) -> dict[str, date]:
        out = {}
        for person, facts in self.registry.profiles(list(persons), only=["date_of_birth"]).items():
            fact = facts.get("date_of_birth")
            if fact is not None:
                v = fact.value
                out[person] = v if isinstance(v, date) else date.fromisoformat(str(v)[:10])
        return out

    def _unseal(self, persons: Sequence[str]) -> dict[str, str]:
        profiles = self.registry.profiles(list(persons), reveal=["bank_account"], only=["bank_account"])
        return {p: f["bank_account"].value for p, f in profiles.items() if "bank_account" in f}

    def view(self, person: str) -> list[dict[str, Any]]:
        """Each award of ``person`` with its payments (for the portal and the staff single view)."""
        out = []
        for a in self.store.awards_of(person):
            pays = self.store.payments_of(award=a["id"])
            today = self.clock.now().date()
            upcoming = [p for p in pays if p["status"] in ("scheduled", "held") and p["pay_on"] >= today]
            rate = next((r for r in a["periods"] if date.fromisoformat(r["start"]) <= today
                         <= date.fromisoformat(r["end"])), a["periods"][0] if a["periods"] else None)
            out.append({**a, "payments": pays, "next": upcoming[0] if upcoming else None, "rate": rate,
                        "paid": [p for p in pays if p["status"] in ("sent", "paid")]})
        return out

    def first_payment(self, person: str, service_id: str) -> dict[str, Any] | None:
        """The first payment of the person's award of ``service_id``, with the account's last four digits."""
        return self.first_payments([(person, service_id)]).get((person, service_id))

    # -- suspension and arrears -----------------------------------------------------------------
    def suspend(self, person: str, service_id: str, from_day: date, reason: str) -> int:
        """An adverse change waits for review: payments for periods ending on or after ``from_day`` are held
        (not cancelled). Returns how many were held."""
        now, held = self.clock.now(), 0
        for a in self.store.awards_of(person):
            if a["service"] != service_id or a["status"] != ACTIVE:
                continue
            seqs = [p["seq"] for p in self.store.payments_of(award=a["id"])
                    if p["status"] == "scheduled" and p["end_on"] >= from_day]
            held += self.store.set_status(seqs, "held", now, expect=["scheduled"], held_reason="suspended")
            self.store.set_award(a["id"], now, status=SUSPENDED, suspended_from=from_day)
        return held

    def resume(self, person: str, service_id: str) -> int:
        """The change was overturned: held payments are released and the next run pays them (arrears)."""
        now, released = self.clock.now(), 0
        for a in self.store.awards_of(person):
            if a["service"] != service_id or a["status"] != SUSPENDED:
                continue
            seqs = [p["seq"] for p in self.store.payments_of(award=a["id"])
                    if p["status"] == "held" and p["held_reason"] == "suspended"]
            released += self.store.set_status(seqs, "scheduled", now, expect=["held"])
            self.store.set_award(a["id"], now, status=ACTIVE, suspended_from=None)
        return released

    def stop(self, person: str, service_id: str, from_day: date) -> int:
        """A decided end (confirmed by a person): no payment for days from ``from_day``. A payment that
        straddles it is replaced by one for the days before. Returns how many payments were cancelled."""
        from ..domain.payments import amount_for

        now, cancelled = self.clock.now(), 0
        for a in self.store.awards_of(person):
            if a["service"] != service_id or a["status"] not in (ACTIVE, SUSPENDED):
                continue
            periods = _periods(a["periods"])
            for p in self.store.payments_of(award=a["id"]):
                if p["status"] not in ("scheduled", "held") or p["end_on"] < from_day:
                    continue
                cancelled += self.store.set_status([p["seq"]], "cancelled", now, expect=["scheduled", "held"],
                                                   held_reason="award-ended")
                if p["start_on"] < from_day:  # the days before the change are still due
                    end = from_day - timedelta(days=1)
                    amount, sources = amount_for(periods, p["start_on"], end)
                    part = Payment(a["id"], p["start_on"], end, amount, p["due_on"], p["pay_on"], sources)
                    self.store.add_payments([payment_row(part, person, now)])
            self.store.set_award(a["id"], now, status=STOPPED, end_on=from_day - timedelta(days=1),
                                 suspended_from=None)
        return cancelled

    # -- the run ----------------------------------------------------------------------------------
    def run(self, day: date, fault_after: int | None = None) -> dict[str, Any]:
        """Pay everything due on ``day`` (working day ``day`` or earlier) not yet paid, in files of at most
        ``file_max_payments``. Raises AlreadyRunError if the run for ``day`` finished already.

        A run killed part-way is finished by running it again: files assigned but not written are written
        with the same payments, and nothing is assigned twice. ``fault_after`` (tests) kills this process
        with SIGKILL once that many payments are committed to files, before the file is written."""
        existing = self.store.run(day)
        if existing and existing["status"] == "done":
            raise AlreadyRunError(existing)
        self.store.start_run(day, self.clock.now())
        for f in self.store.files(day):
            if f["written_at"] is None:
                self._write(day, f["ref"])
        committed, seen = 0, set()
        n = len(self.store.files(day))
        held: dict[str, list[int]] = {}
        while True:
            rows = [r for r in self.store.due(day, self.file_max) if r.seq not in seen]
            if not rows:  # none left (or only rows another process holds: never read twice)
                break
            seen.update(r.seq for r in rows)
            accounts = self.accounts(sorted({r.person_id for r in rows}))
            chosen, picked, total, last4 = [], [], 0, []
            checked: dict[str, tuple[str, str]] = {}
            for r in rows:
                why = self._why_held(r, accounts.get(r.person_id), checked)
                if why:
                    held.setdefault(why, []).append(r.seq)
                    continue
                chosen.append(r.seq)
                picked.append(r)
                total += r.amount
                last4.append(checked[r.person_id][1][-4:])
            for why, seqs in held.items():
                self.store.set_status(seqs, "held", self.clock.now(), expect=["scheduled"], held_reason=why)
            held.clear()
            if not chosen:
                continue
            n += 1
            ref = f"CIVIC-{day.strftime('%Y%m%d')}-{n:05d}"
            self.store.assign_bulk(day, ref, chosen, total, last4, self.clock.now())
            committed += len(chosen)
            if fault_after is not None and committed >= fault_after:
                os.kill(os.getpid(), signal.SIGKILL)  # the fault: payments committed, their file not written
            picked.sort(key=lambda r: r.seq)  # the file's order, as file_payments reads it back
            self._write(day, ref, checked, picked)
        return self.store.finish_run(day, self.clock.now())

    def _why_held(self, row, account: str | None, checked: dict[str, tuple[str, str]]) -> str | None:
        """Why a due payment cannot go now (None: it can; its checked account is put in ``checked``)."""
        if row.hold:
            return row.hold
        if not account:
            return "no-account"
        if row.person_id not in checked:
            sc, _, acc = account.partition(" ")
            try:
                checked[row.person_id] = check(sc, acc, self.tables)
            except BankDetailsError:
                return "account-invalid"
        return None

    def _write(self, day: date, ref: str, checked: dict[str, tuple[str, str]] | None = None,
               rows: Sequence[Any] | None = None) -> Path:
        """Write file ``ref`` with its assigned payments (``rows``, as just assigned, in seq order; or read
        back from the store); accounts not in ``checked`` are unsealed and checked again (a run finishing
        what a killed one assigned)."""
        from ..adapters.payments.pain001 import Debtor, Transfer

        if rows is None:
            rows = self.store.file_payments(ref)
        checked = dict(checked or {})
        missing = sorted({r.person_id for r in rows} - set(checked))
        for person, account in (self.accounts(missing) if missing else {}).items():
            sc, _, acc = account.partition(" ")
            checked[person] = check(sc, acc, self.tables)

        def transfers():
            for r in rows:
                sc, acc = checked[r.person_id]
                yield Transfer(r.end_to_end, r.amount, sc, acc, f"{r.service} {r.period}")

        path = self.writer(self.folder, ref, self.clock.now(), day,
                           Debtor(self.payer["name"], self.payer["sort_code"], self.payer["account"]),
                           transfers(), len(rows), sum(r.amount for r in rows))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if self.audit is not None:  # what left: the account of each person paid, in a file of this hash
            at = iso(self.clock.now())
            self.audit.append([{"at": at, "recipient": "bank", "purpose": PAY_PURPOSE, "person": p,
                                "channel": "payment-file", "outcome": "disclosed", "attributes": ["bank_account"],
                                "body_sha256": digest, "file": ref}
                               for p in sorted({r.person_id for r in rows})])
        self.store.file_written(ref, digest, self.clock.now())
        return path

    # -- checks -------------------------------------------------------------------------------------
    def check(self) -> list[dict[str, Any]]:
        """Awards that run past the published figures (or the known bank holidays): their payments after
        ``scheduled_to`` wait for the new figures."""
        return [{"award": a["id"], "person": a["person_id"], "service": a["service"],
                 "scheduled_to": a["scheduled_to"], "end": a["end_on"], "stops": a["schedule_stops"]}
                for a in self.store.incomplete()]


# -- people told, overpayments, returns, changes of bank details -------------------------------


from ..domain.payments import overpayments, pounds  # noqa: E402
from .ports import Effect  # noqa: E402

OVERPAYMENT_QUEUE = "decision-review"
RETURNS_QUEUE = "verification"
CHANGE_CHECK_QUEUE = "verification"


class BankChangeError(Exception):
    """A confirmation code that is not accepted: the bank details did not change. ``problem`` is one of
    domain.codes' reasons (expired, tries, missing, format, wrong) or "used"."""

    WORDS = {"expired": "That code has expired. Ask for a new one.",
             "tries": "A wrong code was entered too many times. Ask for a new one.",
             "missing": "Enter the code.", "format": "The code is 6 digits.",
             "wrong": "That code is not right. Check the message we sent and try again.",
             "used": "That code has been used already."}

    def __init__(self, problem: str) -> None:
        super().__init__(self.WORDS.get(problem, problem))
        self.problem = problem


class NoContactError(Exception):
    """No mobile number or email address is held to send a code to: the bank details cannot be changed
    online."""


class PeopleAndCases:
    """What the service needs to tell people and to hand work to officers (set after construction)."""

    def __init__(self, messenger, cases) -> None:
        self.messenger, self.cases = messenger, cases


def _tell(self: Payments, person: str, template: str, key: str, **values: Any) -> str | None:
    """Queue a message from the pack's ``template`` to ``person`` on their channels (once per ``key``)."""
    if getattr(self, "people", None) is None:
        return None
    e = Effect(key=key, journey="", person=person, step="payments", kind="notify",
               payload={"spec": {"template": template}, "personalisation": {"values": values}},
               max_attempts=1, backoff_seconds=0, id=0, attempts=1)
    (r,) = self.people.messenger.perform([e])
    return (r.result or {}).get("message") if r.error is None else None


def _service_name(self: Payments, service_id: str) -> str:
    s = self.catalogue().get(service_id)
    return s.name if s is not None else service_id


def recheck(self: Payments, person: str, service_id: str) -> dict[str, Any] | None:
    """Work the award's rates out again from what is known now (a corrected date of birth, say). Payments
    already made at too high a rate become a case for a decision maker, with the calculation shown, and the
    person is told; nothing is recovered and no future payment is reduced by this. Future payments at a lower
    rate are held for the same decision (reducing an award is adverse). Returns the case, or None."""
    for a in self.store.awards_of(person):
        if a["service"] != service_id:
            continue
        pays = self.pays(service_id)
        corrected = build_award(self.rules(), service_id, pays, a["id"], person, a["start_on"], self._born(person))
        made = [Payment(a["id"], p["start_on"], p["end_on"], p["amount"], p["due_on"], p["pay_on"],
                        tuple(p["sources"]), p["kind"])
                for p in self.store.payments_of(award=a["id"]) if p["status"] in ("sent", "paid")]
        found = overpayments(made, corrected.periods)
        if not found:
            return None
        now = self.clock.now()
        future = [p for p in self.store.payments_of(award=a["id"]) if p["status"] == "scheduled"]
        self.store.set_status([p["seq"] for p in future], "held", now, expect=["scheduled"],
                              held_reason="overpayment-review")
        total = sum(o.amount for o in found)
        lines = [line for o in found for line in o.lines]
        case = self.people.cases.open(
            OVERPAYMENT_QUEUE, person,
            f"{_service_name(self, service_id)} may have been overpaid by {pounds(total)}: decide whether it is "
            "recoverable; nothing is recovered until you decide and the person is told",
            priority="high", key=f"overpayment:{a['id']}:{total}",
            data={"award": a["id"], "service": service_id, "overpaid_pence": total, "calculation": lines,
                  "held_payments": len(future)})
        _tell(self, person, "overpayment-found", f"overpayment-found:{case.id}",
              service=_service_name(self, service_id), amount_pence=total, calculation=lines)
        return {"case": case.id, "overpaid_pence": total, "calculation": lines, "held": len(future)}
    return None


def decide_overpayment(self: Payments, case_id: str, officer, recover: bool, reason: str, version: int):
    """A decision maker's decision: the case is resolved, the person told (with the reason). Payments held
    for the review go again at the corrected rate. Any recovery is arranged with the person, never deducted
    here."""
    case = self.people.cases.resolve(case_id, officer, "upheld" if recover else "overturned", reason,
                                     version)
    data = case.data
    award = self.store.award(data["award"])
    corrected = build_award(self.rules(), award["service"], self.pays(award["service"]), award["id"],
                            award["person_id"], award["start_on"], self._born(award["person_id"]))
    from ..domain.payments import amount_for

    now = self.clock.now()
    for p in self.store.payments_of(award=award["id"]):
        if p["status"] == "held" and p["held_reason"] == "overpayment-review":
            amount, _ = amount_for(corrected.periods, p["start_on"], p["end_on"])
            self.store.reprice(p["seq"], amount, now)
    self.store.set_award(award["id"], now, periods=_periods_json(corrected.periods))
    _tell(self, case.person, "overpayment-decision", f"overpayment-decision:{case.id}",
          service=_service_name(self, award["service"]), amount_pence=data["overpaid_pence"], recover=recover,
          reason=reason)
    return case


def returned(self: Payments, end_to_end: str, reason: str) -> dict[str, Any]:
    """The bank sent a payment back (account closed): it is marked returned, the award's further payments
    stop (held), and the person is asked for new details. A return for a payment we do not know is logged
    and becomes a case."""
    found = self.store.by_end_to_end([end_to_end]).get(end_to_end)
    now = self.clock.now()
    if found is None:
        from ..logs import get

        get("civic.payments").warning("return for an unknown payment", end_to_end=end_to_end, reason=reason)
        case = self.people.cases.open(RETURNS_QUEUE, "unknown",
                                      f"The bank returned a payment we cannot match ({end_to_end}): find it",
                                      key=f"return:{end_to_end}", data={"end_to_end": end_to_end, "reason": reason})
        return {"matched": False, "case": case.id}
    self.store.set_status([found["seq"]], "returned", now, expect=["sent", "paid"], held_reason=reason)
    later = [p["seq"] for p in self.store.payments_of(award=found["award_id"]) if p["status"] == "scheduled"]
    self.store.set_status(later, "held", now, expect=["scheduled"], held_reason="returned")
    self.store.set_award(found["award_id"], now, hold="returned")
    award = self.store.award(found["award_id"])
    _tell(self, found["person_id"], "payment-returned", f"payment-returned:{found['seq']}",
          service=_service_name(self, award["service"]), amount_pence=found["amount"],
          last4=found["account_last4"] or "")
    return {"matched": True, "payment": found["seq"], "held": len(later)}


def held_contact(self: Payments, person: str) -> tuple[Any, str] | None:
    """Where a code for a change to ``person``'s details goes: a contact detail already held (the mobile
    number first, then the email address, skipping one marked not working), as (Channel, value); None when
    neither is held. Never a detail given with the change."""
    from ..domain.messages import Channel

    facts = self.registry.profiles([person], only=["phone", "phone_valid", "email", "email_valid"]).get(person, {})
    for kind, channel in (("phone", Channel.SMS), ("email", Channel.EMAIL)):
        if kind in facts and str(facts[kind].value).strip() and \
                (f"{kind}_valid" not in facts or facts[f"{kind}_valid"].value is not False):
            return channel, str(facts[kind].value).strip()
    return None


def masked(channel_value: str, to: str) -> str:
    """A held contact detail as a page may show it: a number's last three digits, an email address's first
    letter and domain ("a…@example.org")."""
    if channel_value == "sms":
        return "".join(ch for ch in to if ch.isdigit())[-3:]
    local, _, domain = to.partition("@")
    return f"{local[:1]}…@{domain}"


def request_bank_change(self: Payments, person: str, sort_code: str, account: str, minutes: int | None = None,
                        name: str = "") -> dict[str, str]:
    """Start a change of bank details: checked (format and modulus; BankDetailsError), kept sealed with the
    name on the account, and a six-digit code sent to a contact detail already held (see
    :func:`held_contact`), never to one given with the change. Returns {"id", "channel" ("sms" or
    "email"), "to" (masked, see :func:`masked`)}. Raises NoContactError when no mobile number or email
    address is held, and InvalidPreferencesError when the code cannot be queued (nothing is kept then)."""
    import json

    from ..domain import codes

    sc, acc = check(sort_code, account, self.tables)
    found = held_contact(self, person)
    if found is None:
        raise NoContactError("We hold no mobile phone number or email address to send a code to. "
                             "Add one first.")
    channel, to = found
    minutes = minutes or self.code_minutes
    now = self.clock.now()
    change = str(uuid.uuid4())
    code = codes.new_code()[0]
    value = json.dumps({"bank_account": f"{sc[:2]}-{sc[2:4]}-{sc[4:]} {acc}", "name": name.strip()[:70],
                        "to": masked(channel.value, to)})  # where the code went, as an officer may see it
    self.people.messenger.confirm_contact(person, channel, to, code, minutes, template="bank-details-code",
                                          values={"last4": acc[-4:]})
    self.store.add_change({"id": change, "person_id": person,
                           "value": self.registry.cipher.encrypt(value, f"{person}|bank_change"),
                           "code_hash": codes.code_hash(change, code), "sent_to": channel.value,
                           "expires_at": now + timedelta(minutes=minutes), "tries": 0,
                           "confirmed_at": None, "created_at": now})
    return {"id": change, "channel": channel.value, "to": masked(channel.value, to)}


def confirm_bank_change(self: Payments, person: str, change_id: str, code: str) -> dict[str, Any]:
    """The code is right and in time: the new details are recorded (sealed), payments held for a returned or
    missing account are reissued, and the next payment is held for a check when it is due within the pack's
    ``bank_details_change_hold_days`` of the change (a fraud control: the change may not be the person's).
    The person is told (``bank-details-changed``) and, when a payment is held, a case opens in the
    verification queue, its data ``{payment, change, sent_to ("sms"|"email"), to (masked, see
    :func:`masked`), last4 (the new account's last four digits), changed_at (ISO 8601, UTC)}``. Returns {"reissued", "held" (a payment's seq or None), "case", "last4"}.

    Raises BankChangeError (``problem``: one of domain.codes' reasons, or "used") otherwise; a wrong code
    counts against the change's tries."""
    import json

    from ..domain import codes
    from .steps import PLATFORM

    row = self.store.change(change_id)
    now = self.clock.now()
    if row is None or row["person_id"] != person:
        raise BankChangeError(codes.WRONG)
    if row["confirmed_at"] is not None:
        raise BankChangeError("used")
    expires = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=now.tzinfo)
    problem = codes.problem(code, salt=change_id, hashed=row["code_hash"], expires=expires, tries=row["tries"],
                            now=now)
    if problem == codes.WRONG and self.store.change_tried(change_id) >= codes.TRIES:
        problem = codes.TOO_MANY
    if problem is not None:
        raise BankChangeError(problem)
    if not self.store.confirm_change(change_id, now):
        raise BankChangeError("used")
    sealed = self.registry.cipher.decrypt(row["value"], f"{person}|bank_change")
    given = json.loads(sealed) if sealed.startswith("{") else {"bank_account": sealed, "name": ""}
    facts = [{"attribute": "bank_account", "value": given["bank_account"], "basis": "derived", "tier": "gold"}]
    if given.get("name") and "bank_account_name" in self.registry.attributes:
        facts.append({"attribute": "bank_account_name", "value": given["name"], "basis": "declared",
                      "tier": "bronze"})
    self.registry.record_many(PLATFORM, [(person, facts)])  # the account confirmed by code
    last4 = last_four(given["bank_account"].split(" ")[-1])
    reissued, held, service = 0, None, None
    until = now.date() + timedelta(days=self.hold_days)
    for a in self.store.awards_of(person):
        pays = self.store.payments_of(award=a["id"])
        for p in pays:
            if p["status"] == "returned":  # paid again, once: a reissue of the same period
                again = Payment(a["id"], p["start_on"], p["end_on"], p["amount"], p["due_on"], now.date(),
                                tuple(p["sources"]), "reissue")
                reissued += self.store.add_payments([payment_row(again, person, now)])
        waiting = [p["seq"] for p in pays if p["status"] == "held"
                   and p["held_reason"] in ("returned", "no-account", "change-rejected")]
        self.store.set_status(waiting, "scheduled", now, expect=["held"])
        self.store.set_award(a["id"], now, hold=None)
        nxt = next((p for p in self.store.payments_of(award=a["id"])
                    if p["status"] == "scheduled" and p["kind"] != "reissue"), None)
        if nxt is not None and held is None and nxt["pay_on"] <= until:
            self.store.set_status([nxt["seq"]], "held", now, expect=["scheduled"], held_reason="details-changed")
            held, service = nxt, a["service"]
    case = None
    if held is not None and getattr(self, "people", None) is not None:
        case = self.people.cases.open(CHANGE_CHECK_QUEUE, person,
                                      f"Bank details changed on {now.date().isoformat()}: check the change is the "
                                      f"person's before the next payment is released",
                                      key=f"bank-change:{change_id}",
                                      data={"payment": held["seq"], "change": change_id, "sent_to": row["sent_to"],
                                            "to": given.get("to", ""), "last4": last4,
                                            "changed_at": now.isoformat()})
    _tell(self, person, "bank-details-changed", f"bank-details-changed:{change_id}", last4=last4,
          held=held is not None, service=_service_name(self, service) if service else "",
          amount_pence=held["amount"] if held else 0, pay_on=held["pay_on"].isoformat() if held else "",
          reissued=reissued)
    return {"reissued": reissued, "held": held["seq"] if held else None, "case": case.id if case else None,
            "last4": last4}


def release_after_check(self: Payments, person: str) -> int:
    """An officer checked the change: the payment held for it goes in the next run."""
    seqs = [p["seq"] for p in self.store.payments_of(person=person)
            if p["status"] == "held" and p["held_reason"] == "details-changed"]
    return self.store.set_status(seqs, "scheduled", self.clock.now(), expect=["held"])


def account_given(self: Payments, person: str) -> int:
    """The person gave their first account (in the survey, or an officer for them) after an award was held
    for having none: its hold is lifted and the payments a run held for it go in the next run. Only the
    ``no-account`` hold: a returned or rejected account needs a change confirmed by code. Returns how many
    held payments were put back."""
    now, released = self.clock.now(), 0
    for a in self.store.awards_of(person):
        if a["hold"] != "no-account":
            continue
        seqs = [p["seq"] for p in self.store.payments_of(award=a["id"])
                if p["status"] == "held" and p["held_reason"] == "no-account"]
        released += self.store.set_status(seqs, "scheduled", now, expect=["held"])
        self.store.set_award(a["id"], now, hold=None)
    return released


def change_checked(self: Payments, case, officer=None) -> int:
    """A resolved case, as ``Cases.on_resolved`` hands it: when it is the check of a bank-details
    change (queue ``verification``, ``data.change``), ``verified`` releases the held payment into the
    next run, as the bank-details-changed message promises; ``rejected`` (the change was not the
    person's) keeps it held as ``change-rejected`` until the person confirms other details with a code.
    Returns how many payments changed; other cases are left alone (0)."""
    if case.queue != CHANGE_CHECK_QUEUE or not (case.data or {}).get("change"):
        return 0
    if case.outcome == "verified":
        return release_after_check(self, case.person)
    seqs = [p["seq"] for p in self.store.payments_of(person=case.person)
            if p["status"] == "held" and p["held_reason"] == "details-changed"]
    return self.store.set_status(seqs, "held", self.clock.now(), expect=["held"], held_reason="change-rejected")


def reconcile(self: Payments, report: Path) -> dict[str, int]:
    """Mark payments from the bank's camt.054 report: paid, or returned (see :func:`returned`). A report
    that does not validate raises InvalidReportError and marks nothing."""
    from ..adapters.payments import camt054

    entries = camt054.read(report)  # all or nothing: validated before anything is marked
    known = self.store.by_end_to_end([e["end_to_end"] for e in entries])
    counts = {"paid": 0, "returned": 0, "unknown": 0}
    now = self.clock.now()
    for e in entries:
        if e["outcome"] == "returned" or e["end_to_end"] not in known:
            out = self.returned(e["end_to_end"], e["reason"] or "unknown")
            counts["returned" if out["matched"] else "unknown"] += 1
        else:
            counts["paid"] += self.store.set_status([known[e["end_to_end"]]["seq"]], "paid", now, expect=["sent"])
    return counts


Payments.reconcile = reconcile
Payments.tell = _tell
Payments.recheck = recheck
Payments.decide_overpayment = decide_overpayment
Payments.returned = returned
Payments.request_bank_change = request_bank_change
Payments.confirm_bank_change = confirm_bank_change
Payments.held_contact = held_contact
Payments.release_after_check = release_after_check
Payments.change_checked = change_checked
Payments.account_given = account_given
