"""Messages: a notify step becomes a message; the messenger takes it down the person's chain.

1. ``perform`` (the notify effect) renders the template in the person's language, works
   out their channel chain and stores the message, once per idempotency key.
2. ``run_once`` claims due messages, holds them through quiet hours, checks the contact
   details, sends through each channel's providers and applies what came back.
3. Receipts (an SMS delivered, a letter posted, a message read, staff made contact) settle
   messages later. A message not delivered by its channel's deadline moves on.
4. Each delivery to an outside provider is written in the access log; the final outcome
   of each message is an event (``civic.message.delivered`` or ``civic.message.failed``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ..adapters.store.messages import Claimed, MessageStore, history_rows, to_message
from ..domain import messages as M
from ..domain.clock import Clock, iso
from ..domain.consent import ConsentState
from ..domain.ids import uuid7
from ..domain.organisations import Organisation
from ..domain.postal import UndeliverableAddressError, check_address
from ..logs import get
from ..packs.templates import PackSettings, Template, TemplateRenderError
from .errors import InvalidPreferencesError, InvalidReceiptError, NotFoundError, WrongChannelError
from .ports import Effect, EffectResult, Outgoing
from .providers import ProviderPool

log = get("civic.messages")

MESSAGE_DELIVERED = "civic.message.delivered"
MESSAGE_FAILED = "civic.message.failed"
NAMES = ("given_name", "family_name")
CONTACT = NAMES + ("email", "phone", "address_line_1", "town", "postcode")
PLATFORM = Organisation("civicmoments", "Civic Moments messages", (), ("facts:contact",))
ATTRIBUTES = {M.Channel.EMAIL: ["email"], M.Channel.SMS: ["phone"],
              M.Channel.LETTER: ["given_name", "family_name", "address_line_1", "town", "postcode"]}


class Messenger:
    def __init__(self, store: MessageStore, events, registry, consent_store, templates: Mapping[str, Template],
                 settings: PackSettings, channels: Mapping[M.Channel, ProviderPool], cipher, audit, clock: Clock,
                 policy: M.Policy | None = None, batch_size: int = 500, lease: timedelta = timedelta(seconds=60),
                 portal_url: str = "http://127.0.0.1:8080"):
        self.store, self.events, self.registry, self.consent_store = store, events, registry, consent_store
        self.templates, self.settings, self.channels = templates, settings, dict(channels)
        self.cipher, self.audit, self.clock = cipher, audit, clock
        self.policy = policy or M.Policy()
        self.batch_size, self.lease = batch_size, lease
        self.zone = ZoneInfo(settings.timezone)
        self.portal_url = portal_url.rstrip("/")
        self.queued = threading.Event()  # set when this process queues messages: wakes an idle sending thread

    # -- 1. queue ----------------------------------------------------------------------
    def perform(self, effects: Sequence[Effect]) -> list[EffectResult]:
        """The notify effect: one message per effect key. A repeat finds the message already there."""
        now = self.clock.now()
        persons = sorted({e.person for e in effects})
        prefs = self.store.preferences(persons)
        names = self.registry.profiles(persons, only=NAMES)
        objected = self._objections(effects)
        results: list[EffectResult | None] = []
        rows, history, keys = [], [], []
        for e in effects:
            try:
                row, steps = self._message(e, prefs.get(e.person, M.Preferences()), names.get(e.person, {}), now,
                                           objected)
            except _Refused as exc:
                results.append(EffectResult.fail(str(exc)))
                continue
            rows.append(row)
            history += history_rows(row["id"], steps)
            keys.append((len(results), e.key))
            results.append(None)
        ids = self.store.create(rows, history)
        if rows:
            self.queued.set()
        for i, key in keys:
            results[i] = EffectResult.done({"message": ids[key]})
        return results  # type: ignore[return-value]  # every slot is filled

    def _objections(self, effects: Sequence[Effect]) -> set[tuple[str, str]]:
        """(person, purpose) pairs where the person refused or withdrew consent: one query per purpose."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for e in effects:
            t = self.templates.get(e.payload.get("spec", {}).get("template", ""))
            if t is not None and t.purpose:
                wanted[t.purpose].add(e.person)
        out = set()
        for purpose, persons in wanted.items():
            for person, rec in self.consent_store.latest_consents(sorted(persons), purpose).items():
                if rec.state in (ConsentState.WITHDRAWN, ConsentState.REFUSED):
                    out.add((person, purpose))
        return out

    def _message(self, e: Effect, prefs: M.Preferences, names: Mapping[str, Any], now: datetime,
                 objected: set[tuple[str, str]]):
        spec = e.payload.get("spec", {})
        template = self.templates.get(spec.get("template", ""))
        if template is None:
            raise _Refused(f"no message template named {spec.get('template')!r}")
        personal = e.payload.get("personalisation") or {}
        if "error" in personal:
            raise _Refused(personal["error"])
        if (e.person, template.purpose) in objected:
            raise _Refused(f"the person has refused or withdrawn consent for {template.purpose}")
        given = _value(names.get("given_name")) or ""
        family = _value(names.get("family_name")) or ""
        values = {**personal.get("values", {}), "name": given or "there",
                  "full_name": f"{given} {family}".strip() or "Sir or Madam",
                  "today": now.astimezone(self.zone).date(), "portal_url": self.portal_url}
        locale = prefs.language if prefs.language in self.settings.locales else self.settings.locales[0]
        try:
            text = template.render(locale, values, easy_read=prefs.easy_read)
        except TemplateRenderError as exc:
            raise _Refused(str(exc)) from None
        mid = uuid7()
        chain = M.chain_for(prefs)
        body = text.as_dict()
        if spec.get("to"):  # a code for a contact detail not yet confirmed: that channel, that address only
            chain = (M.Channel(spec["channel"]),)
            body["to"] = str(spec["to"])
        content = self.cipher.encrypt(orjson.dumps(body).decode(), f"{e.person}|message")
        row = {"id": mid, "key": e.key, "person_id": e.person, "journey_id": e.journey, "template": template.id,
               "version": template.version, "locale": text.locale, "purpose": template.purpose,
               "content": content, "needs": {"large_print": prefs.large_print, "easy_read": prefs.easy_read},
               "chain": [c.value for c in chain], "position": 0, "status": M.Status.QUEUED.value, "attempts": 0,
               "next_at": now, "provider": None, "reference": None, "read_at": None, "created_at": now,
               "updated_at": now}
        why = "queued; chain " + " > ".join(c.value for c in chain)
        return row, [M.Step(now, chain[0], M.Status.QUEUED, why)]

    # -- 2. send -----------------------------------------------------------------------
    def busy(self, now: datetime) -> bool:
        return self.store.any_due(now)

    def run_once(self) -> int:
        now = self.clock.now()
        claimed = self.store.claim(now, self.batch_size, self.lease)
        if not claimed:
            return 0
        transitions: list[M.Transition] = []
        to_send: dict[M.Channel, list[Claimed]] = defaultdict(list)
        prefs = self.store.preferences(sorted({c.message.person for c in claimed}))
        local = now.astimezone(self.zone)
        for c in claimed:
            m = c.message
            if m.status is M.Status.SENDING:
                transitions.append(M.overdue(m, now))
                continue
            if m.channel not in self.channels:
                transitions.append(M.skip(m, now, f"no {m.channel.value} provider is configured"))
                continue
            quiet = prefs.get(m.person, M.Preferences()).quiet_hours
            if m.channel in M.QUIET and quiet is not None:
                until = quiet.release(local)
                if until is not None:
                    transitions.append(M.hold(m, now, until.astimezone(now.tzinfo),
                                              f"held for quiet hours ({quiet}) until {until:%H:%M}"))
                    continue
            to_send[m.channel].append(c)
        contacts = self._contacts([c for ch, cs in to_send.items() if ch in ATTRIBUTES for c in cs])
        disclosed: list[dict[str, Any]] = []
        at = iso(now)
        invalid: list[tuple[str, str]] = []
        for channel, group in to_send.items():
            ready: list[tuple[Claimed, Outgoing]] = []
            for c in group:
                out = self._outgoing(c, channel, contacts.get(c.message.person, {}))
                if isinstance(out, _ForStaff):
                    transitions.append(M.to_staff(c.message, now, out))
                    continue
                if isinstance(out, str):
                    transitions.append(M.skip(c.message, now, out))
                    if out.startswith("invalid"):
                        invalid.append((c.message.person, ATTRIBUTES[channel][0]))
                    continue
                ready.append((c, out))
            if not ready:
                continue
            outcomes = self.channels[channel].send([o for _, o in ready])
            for (c, _), outcome in zip(ready, outcomes, strict=True):
                if outcome is None:  # no provider could take it now (rate limits, all set aside)
                    transitions.append(M.hold(c.message, now, now + timedelta(seconds=1), None))
                    continue
                transitions.append(M.settle(c.message, outcome, now, self.policy))
                if channel in ATTRIBUTES and outcome.status is not M.Status.TECHNICAL_FAILURE:
                    disclosed.append(self._disclosure(c.message, outcome.provider or channel.value, channel, at,
                                                      outcome.body_sha256))
        self._commit(transitions, claimed, self.clock.now())  # stored as of when the sends came back
        if disclosed:
            self.audit.append(disclosed)
        if invalid:
            self._mark_invalid(invalid)
        return len(claimed)

    def _contacts(self, claimed: Sequence[Claimed]) -> dict[str, dict[str, Any]]:
        persons = sorted({c.message.person for c in claimed})
        if not persons:
            return {}
        return {p: {k: _value(f) for k, f in facts.items()}
                for p, facts in self.registry.profiles(persons, only=CONTACT).items()}

    def _outgoing(self, c: Claimed, channel: M.Channel, contact: Mapping[str, Any]) -> Outgoing | str:
        """What to send, or why this channel cannot be used for this person."""
        to: Any = None
        text = orjson.loads(self.cipher.decrypt(c.content, f"{c.message.person}|message"))
        if text.get("to") and channel in (M.Channel.EMAIL, M.Channel.SMS):
            contact = {**contact, ATTRIBUTES[channel][0]: text["to"]}  # the new detail the code checks
        if channel is M.Channel.EMAIL:
            if not contact.get("email"):
                return "no email address known"
            try:
                to = validate_email(str(contact["email"]), check_deliverability=False).normalized
            except EmailNotValidError as exc:
                return f"invalid email address: {exc}"
        elif channel is M.Channel.SMS:
            if not contact.get("phone"):
                return "no mobile number known"
            to = _mobile(str(contact["phone"]))
            if to is None:
                return f"invalid mobile number: {contact['phone']!r} is not a UK or international mobile number"
        elif channel is M.Channel.LETTER:
            if not contact.get("postcode"):
                return _ForStaff("no postcode known for a letter: a member of staff will make contact")
            name = " ".join(str(contact[k]) for k in NAMES if contact.get(k))
            try:  # checked as GOV.UK Notify checks letters: a letter that cannot arrive is not printed
                lines = check_address([name, contact.get("address_line_1"), contact.get("town"),
                                       str(contact["postcode"])])
            except UndeliverableAddressError as exc:
                return _ForStaff(f"undeliverable address: {exc}; a member of staff will make contact")
            to = {"lines": lines}
        name = " ".join(str(contact[k]) for k in NAMES if contact.get(k))
        return Outgoing(c.message.id, c.message.person, to, name, c.locale, text["subject"], text["short"],
                        text["long"], bool(c.needs.get("large_print")), c.created_at)

    def _disclosure(self, m: M.Message, recipient: str, channel: M.Channel, at: str,
                    body_sha256: str | None) -> dict[str, Any]:
        """A hand-over to a provider, in the outbound boundary's shape, with the hash of the bytes the channel sent."""
        return {"at": at, "recipient": recipient, "purpose": m.purpose or "messages", "person": m.person,
                "channel": f"message:{channel.value}", "outcome": "disclosed", "attributes": ATTRIBUTES[channel],
                "withheld": [], "mode": "identified", "basis": "a message to the person themselves",
                "message": m.id, "body_sha256": body_sha256}

    def _mark_invalid(self, found: Sequence[tuple[str, str]]) -> None:
        for person, attribute in sorted(set(found)):
            self.registry.record(PLATFORM, person, [{"attribute": f"{attribute}_valid", "value": False,
                                                     "basis": "derived", "tier": "silver"}])

    def _commit(self, transitions: Sequence[M.Transition], claimed: Sequence[Claimed], now: datetime) -> None:
        info = {c.message.id: c.template for c in claimed}
        self.store.save(transitions, now, self._events_writer([(t, info.get(t.message.id)) for t in transitions],
                                                              now))

    def _events_writer(self, items: Sequence[tuple[M.Transition, str | None]], now: datetime):
        events = []
        for t, template in items:
            m = t.message
            if m.status in M.REACHED:
                kind, extra = MESSAGE_DELIVERED, {"status": m.status.value}
            elif m.status is M.Status.PERMANENT_FAILURE:
                kind, extra = MESSAGE_FAILED, {"reason": t.history[-1].detail if t.history else ""}
            else:
                continue
            events.append({"event_id": f"{kind}:{m.id}", "type": kind, "subject": m.person, "time": now,
                           "data": {"message": m.id, "template": template, "channel": m.channel.value,
                                    "journey": m.journey, **extra}})
        if not events:
            return None
        return lambda conn: self.events._engine_events(conn, events, now)

    # -- 3. receipts and changes from outside ------------------------------------------
    def _settle_one(self, message_id_or_ref: str, outcome: M.Outcome, expect: M.Channel | None = None) -> dict:
        row = self.store.by_reference(message_id_or_ref)
        if row is None:
            raise NotFoundError(f"no message with id or reference {message_id_or_ref!r}")
        m = to_message(row)
        if expect is not None and m.channel is not expect:
            raise WrongChannelError(f"message {m.id} is not waiting on the {expect.value} channel "
                                f"(it is on {m.channel.value}, {m.status.value})")
        now = self.clock.now()
        t = M.settle(m, outcome, now, self.policy)
        if t.history:
            self.store.save([t], now, self._events_writer([(t, row["template"])], now))
        return {"message": m.id, "status": t.message.status.value, "channel": t.message.channel.value}

    def receipt(self, reference: str, status: str, detail: str = "") -> dict:
        """A provider's delivery receipt, with any status GOV.UK Notify documents (``M.NOTIFY_STATUSES``).

        ``sent`` (a text abroad) is final: the message is not moved on to other channels.
        Raises InvalidReceiptError (422) for a status Notify does not have.
        """
        known = M.NOTIFY_STATUSES.get(status)
        if known is None:
            raise InvalidReceiptError(f"unknown delivery status {status!r}; GOV.UK Notify's statuses are "
                                      + ", ".join(M.NOTIFY_STATUSES))
        s, meaning = known
        return self._settle_one(reference, M.Outcome(s, detail or f"receipt: {status} ({meaning})"))

    def read(self, person: str, message_id: str) -> bool:
        """The person opened the message in the portal; if the inbox was its channel, it is delivered."""
        row = self.store.get(message_id)
        if row is None or row["person_id"] != person:
            raise NotFoundError(f"no message {message_id!r} for this person")
        first = self.store.mark_read(message_id, person, self.clock.now())
        m = to_message(row)
        if m.channel is M.Channel.INBOX and m.status is M.Status.SENDING:
            self._settle_one(message_id, M.Outcome(M.Status.DELIVERED, "read in the portal"))
        return first

    def posted(self, message_id: str) -> dict:
        return self._settle_one(message_id, M.Outcome(M.Status.DELIVERED, "printed and posted"), M.Channel.LETTER)

    def contacted(self, message_id: str, note: str) -> dict:
        if not note.strip():
            raise InvalidReceiptError("say how the person was contacted, e.g. 'phoned, explained the notice'")
        return self._settle_one(message_id, M.Outcome(M.Status.DELIVERED, f"staff: {note.strip()}"),
                                M.Channel.ASSISTED)

    def cancel_for_purpose(self, person: str, purpose: str, why: str = "withdrawn") -> int:
        """Cancel the person's pending messages for a purpose they withdrew from, refused or objected to."""
        return len(self.store.cancel_purpose(person, purpose, self.clock.now(), f"consent for {purpose} {why}"))

    # -- reading -----------------------------------------------------------------------
    def of_person(self, person: str, reveal: bool = False) -> list[dict[str, Any]]:
        out = []
        for row in self.store.of_person(person):
            item = {k: row[k] for k in ("id", "template", "version", "locale", "purpose", "status", "journey_id",
                                        "created_at", "updated_at", "read_at", "provider")}
            item["channel"] = row["chain"][row["position"]]
            item["chain"] = row["chain"]
            item["history"] = [{k: h[k] for k in ("at", "channel", "status", "provider", "detail")}
                               for h in row["history"]]
            if reveal:
                item["content"] = orjson.loads(self.cipher.decrypt(row["content"], f"{person}|message"))
            out.append(item)
        return out

    def confirm_contact(self, person: str, channel: M.Channel, to: str, code: str, minutes: int,
                        template: str = "contact-confirm", values: Mapping[str, Any] | None = None) -> str:
        """Queue a confirmation code to one contact detail: one the person gave but has not confirmed (the
        ``contact-confirm`` template), or one already held, for a change confirmed through it (for example
        ``bank-details-code``, with its ``values``).

        ``channel`` is ``Channel.SMS`` (``to`` a number in E.164) or ``Channel.EMAIL`` (``to`` a
        normalised address). The message uses ``template`` in the person's language and goes only by that
        channel, only to ``to`` (the registry's detail is not looked up). Returns the message id; raises
        ``InvalidPreferencesError`` if it cannot be queued.
        """
        if channel not in (M.Channel.SMS, M.Channel.EMAIL):
            raise InvalidPreferencesError(f"a code goes by sms or email, not {channel.value}")
        key = f"{template}:{uuid7()}"
        (result,) = self.perform([Effect(key, None, person, template, "notify", {
            "spec": {"template": template, "channel": channel.value, "to": to},
            "personalisation": {"values": {**(values or {}), "code": code, "minutes": minutes}}}, 1, 0.0, 0, 1)])
        if result.error:
            raise InvalidPreferencesError(result.error)
        return result.result["message"]

    def preferences(self, person: str) -> M.Preferences:
        return self.store.preferences([person]).get(person, M.Preferences())

    def set_preferences(self, person: str, prefs: M.Preferences | Mapping[str, Any]) -> M.Preferences:
        self.registry.require(person)
        if not isinstance(prefs, M.Preferences):
            try:
                prefs = M.Preferences.from_dict(dict(prefs))
            except ValueError as exc:
                raise InvalidPreferencesError(str(exc)) from None
        if prefs.language not in self.settings.locales:
            raise InvalidPreferencesError(f"language must be one of {', '.join(self.settings.locales)}; got {prefs.language!r}")
        self.store.set_preferences(person, prefs, self.clock.now())
        return prefs


class _ForStaff(str):
    """Why this channel cannot reach the person, such that a member of staff must (and will)."""


class _Refused(Exception):
    """This notify effect cannot become a message; the reason dead-letters the effect."""


def _value(fact: Any) -> Any:
    return getattr(fact, "value", fact)


def _mobile(raw: str) -> str | None:
    try:
        n = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(n):
        return None
    if phonenumbers.number_type(n) not in (phonenumbers.PhoneNumberType.MOBILE,
                                           phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)

