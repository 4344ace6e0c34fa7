"""The citizen portal: server-rendered pages with GOV.UK Frontend components.

Every page works without JavaScript. Every form carries a CSRF token tied to the
session. The person sees what is happening for them, their messages, their plan, the
services they can get, their data, their consents and who saw their data, in English
or Welsh.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape

from ..domain.messages import Channel
from ..logs import get
from ..packs.templates import to_html
from . import erasure
from .auth import (
    DemoIdentityProvider,
    SignInFailed,
    check_sign_in,
    client_secret,
    complete_sign_in,
    issuer_for,
    relying_party,
    start_sign_in,
)
from .i18n import Words
from .sessions import ServerSessions
from .why import check_words, plain

log = get("civic.portal")
HERE = Path(__file__).parent
SORT_CODE = re.compile(r"^\d{6}$")
ACCOUNT = re.compile(r"^\d{6,8}$")
SURVEY = ("aspirations", "travel_radius_miles", "bank_account", "last_day_of_work")
# Facts a decision may lack that the survey can ask for (once nobody holds them).
EARNINGS = ("class1_earnings_year_before_pence", "class1_earnings_last_year_pence")
MONEY = re.compile(r"^\d{1,9}(?:\.\d{1,2})?$")
CHANNELS = (Channel.INBOX, Channel.SMS, Channel.EMAIL, Channel.LETTER)


class Portal:
    def __init__(self, civic) -> None:
        self.civic = civic
        settings = civic.settings
        self.words = Words(civic.pack.root / "portal", civic.pack.settings.locales)
        check_words(self.words, civic.services.catalogue, civic.pack.root / "portal")
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), PrefixLoader(
                {"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")})]),
            autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.env.filters["paragraphs"] = to_html
        self.redirect_uri = f"{settings.public_url.rstrip('/')}/auth/callback"
        self.oauth = relying_party(issuer_for(settings), settings.oidc_client_id, client_secret(settings))
        self.demo = DemoIdentityProvider(settings, self._demo_people) if settings.demo_mode else None
        if self.demo is not None:
            self.demo.register(settings.oidc_client_id, client_secret(settings), self.redirect_uri)

    # -- plumbing ---------------------------------------------------------------------
    def _demo_people(self) -> list[dict[str, str]]:
        featured = [p for p in self.civic.settings.demo_featured if self.civic.registry.store.existing([p])]
        first = next(iter(self.civic.registry.store.people_pages(12)), [])  # the first people registered
        ids = [*featured, *(p for p in first if p not in featured)][:12]  # the story's people first
        profiles = self.civic.registry.profiles(ids, only=("given_name", "family_name"))
        out = []
        for person_id in ids:
            profile = profiles.get(person_id, {})
            name = " ".join(str(profile[a].value) for a in ("given_name", "family_name") if a in profile)
            out.append({"id": person_id, "name": name or person_id})
        return out

    def lang(self, request: Request) -> str:
        chosen = request.session.get("lang")
        return chosen if chosen in self.words.catalogues else self.words.default

    def csrf(self, request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(24)
        return request.session["csrf"]

    async def form(self, request: Request) -> dict[str, str]:
        data = {k: str(v) for k, v in (await request.form()).items()}
        token = request.session.get("csrf", "")
        if not token or not hmac.compare_digest(data.get("csrf_token", ""), token):
            raise CsrfError()
        return data

    def person(self, request: Request) -> str | None:
        return request.session.get("person")

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang(request)
        other = next((x for x in self.words.catalogues if x != lang), lang)

        def t(key: str, **values: Any) -> str:
            return self.words(lang, key, **values)

        def label(kind: str, key: str) -> str:  # an attribute, a purpose, a domain: in the page's language
            return self.words.get(lang, f"{kind}.{key}", key.replace("_", " "))

        def show(attribute: str, value: Any) -> str:  # a fact's value, as a person reads it
            if isinstance(value, bool):
                return t("answer_yes") if value else t("answer_no")
            if value == "***" or value == "[sensitive]":
                return t("masked")
            if attribute.endswith("_pence") and isinstance(value, int):
                return self.money(request, value / 100)
            return self.words.get(lang, f"value.{attribute}.{value}", str(value))

        def source(org_id: str | None, names: dict[str, str]) -> str:
            if org_id in (None, "self"):
                return t("source_you")
            if org_id == "civicmoments":
                return self.civic.settings.service_name
            return names.get(org_id, org_id)

        html = self.env.get_template(template).render(
            t=t, label=label, show=show, source=source, lang=lang, other_lang=other, path=request.url.path,
            csrf_token=_OnUse(lambda: self.csrf(request)),
            cspNonce=getattr(request.state, "csp_nonce", None),
            signed_in=self.person(request) is not None, service_name=self.civic.settings.service_name,
            demo=self.civic.settings.demo_mode, **context)
        return HTMLResponse(html, status_code=status)

    def money(self, request: Request, pounds: float) -> str:
        from babel.numbers import format_currency

        return format_currency(pounds, "GBP", locale=self.civic.pack.settings.babel_locale(self.lang(request)))

    def day(self, request: Request, when) -> str:
        """A date in the person's language (1 December 2026), from a date or an ISO 8601 string."""
        from datetime import date

        from babel.dates import format_date

        if isinstance(when, str):
            when = date.fromisoformat(when[:10])
        return format_date(when, "d MMMM y", locale=self.civic.pack.settings.babel_locale(self.lang(request)))

    def when(self, request: Request, iso_time: str) -> str:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from babel.dates import format_datetime

        return format_datetime(datetime.fromisoformat(iso_time), "EEEE d MMMM, HH:mm",
                               tzinfo=ZoneInfo(self.civic.pack.settings.timezone),
                               locale=self.civic.pack.settings.babel_locale(self.lang(request)))

    def journey(self, person: str):
        found = [j for j in self.civic.store.journeys_for(person) if j.moment == "job-loss"]
        return found[0] if found else None

    # -- routes -----------------------------------------------------------------------
    def router(self) -> APIRouter:  # noqa: C901 - one place lists every page
        r = APIRouter(include_in_schema=False)
        civic = self.civic

        def signed_in(request: Request) -> str:
            person = self.person(request)
            if person is None:
                raise SignInNeeded()
            return person

        from . import interviews, payments, travel

        r.include_router(travel.router(self, signed_in))
        r.include_router(payments.router(self, signed_in))
        r.include_router(interviews.router(self, signed_in))

        @r.get("/", response_class=HTMLResponse)
        def home(request: Request) -> Response:
            person = self.person(request)
            if person is None:
                return self.page(request, "start.html")
            profile = civic.registry.profile(person)
            name = profile["given_name"].value if "given_name" in profile else ""
            j = self.journey(person)
            steps = {}
            if j is not None:
                steps = {k: v.status.value for k, v in j.steps.items()}
            unread = [m for m in civic.messenger.of_person(person) if not m["read_at"]]
            return self.page(request, "home.html", name=name, journey=j, steps=steps, unread=len(unread),
                             benefit=self.benefit(request, person) if j is not None else None,
                             consent=self._consent_state(person, "employment-support"))

        @r.get("/sign-in")
        async def sign_in(request: Request) -> Response:
            try:
                return await start_sign_in(self.oauth.idp, request, self.redirect_uri)
            except SignInFailed as exc:
                log.warning("identity provider unavailable")
                return self.page(request, "sign_in_problem.html", status=exc.status, reason=exc.reason)

        @r.get("/auth/callback", name="signed_in")
        async def callback(request: Request) -> Response:
            try:
                person = (await complete_sign_in(self.oauth.idp, request))["sub"]
                if civic.registry.store.person(person) is None:
                    raise SignInFailed("unknown", 403)
            except SignInFailed as exc:
                log.info("sign-in failed", reason=exc.reason)
                return self.page(request, "sign_in_problem.html", status=exc.status, reason=exc.reason)
            lang = request.session.get("lang")
            request.session.clear()
            request.session.update({"person": person, "csrf": secrets.token_urlsafe(24)})
            if lang:
                request.session["lang"] = lang
            return RedirectResponse("/", status_code=303)

        @r.post("/sign-out")
        async def sign_out(request: Request) -> Response:
            await self.form(request)
            request.session.clear()
            return RedirectResponse("/", status_code=303)

        @r.get("/language")
        def language(request: Request, to: str, next: str = "/") -> Response:  # noqa: A002 - the query's name
            if to in self.words.catalogues:
                request.session["lang"] = to
            return RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/",
                                    status_code=303)

        @r.get("/inbox", response_class=HTMLResponse)
        def inbox(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "inbox.html", messages=civic.messenger.of_person(person, reveal=True))

        @r.get("/inbox/{message_id}", response_class=HTMLResponse)
        def message(request: Request, message_id: str) -> Response:
            person = signed_in(request)
            found = [m for m in civic.messenger.of_person(person, reveal=True) if m["id"] == message_id]
            if not found:
                return self.page(request, "not_found.html", status=404)
            civic.messenger.read(person, message_id)
            return self.page(request, "message.html", message=found[0])

        @r.get("/plan", response_class=HTMLResponse)
        def plan(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "plan.html", **self._plan(request, person))

        @r.get("/services", response_class=HTMLResponse)
        def services(request: Request) -> Response:
            person = signed_in(request)
            found = civic.services.for_person(person, civic.clock.now().date(), include_not_eligible=True)
            return self.page(request, "services.html", found=found)

        @r.get("/services/{service_id}", response_class=HTMLResponse)
        def explain(request: Request, service_id: str) -> Response:
            person = signed_in(request)
            if service_id not in civic.services.catalogue:
                return self.page(request, "not_found.html", status=404)
            service = civic.services.service(service_id)
            d = civic.services.explain(person, service_id, civic.clock.now().date())
            lang = self.lang(request)

            def t(key: str, **values: Any) -> str:
                return self.words(lang, key, **values)

            why = plain(d, service, t, lambda key: key in self.words.catalogues[lang],
                        lambda pounds: self.money(request, pounds), lambda iso: self.day(request, iso))
            names = {o["id"]: o["name"] for o in civic.store.organisations()}
            return self.page(request, "explain.html", service=service, decision=d, why=why, names=names)

        @r.get("/survey", response_class=HTMLResponse)
        def survey(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "survey.html", **self._survey(person, self.lang(request)), values={}, errors=[])

        @r.post("/survey", response_class=HTMLResponse)
        async def answer(request: Request) -> Response:
            person = signed_in(request)
            data = await self.form(request)
            plan = self._survey(person, self.lang(request))
            asked = [q["attribute"] for q in plan["ask"]]
            answers, errors = self._check(request, data, asked)
            if errors:
                return self.page(request, "survey.html", status=400, values=data, errors=errors, **plan)
            cannot = [a for a in asked if a in EARNINGS] if data.get("class1_unknown") == "yes" else []
            if answers or cannot:
                civic.questions.answer(person, answers, cannot)
            return self.page(request, "done.html", message=self.words(self.lang(request), "answers_saved"))

        @r.get("/consents", response_class=HTMLResponse)
        def consents(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "consents.html", purposes=self._purposes(person))

        @r.post("/consents", response_class=HTMLResponse)
        async def change_consent(request: Request) -> Response:
            person = signed_in(request)
            data = await self.form(request)
            purpose, action = data.get("purpose", ""), data.get("action", "")
            actions = {"give": civic.consents.give, "withdraw": civic.consents.withdraw,
                       "object": civic.consents.object, "undo": civic.consents.undo_objection}
            allowed = {st.purpose: st.actions for st in civic.consents.statuses(person)}
            if action not in allowed.get(purpose, ()):  # a stale page, or a purpose with no choice
                return self.page(request, "consents.html", status=409, purposes=self._purposes(person),
                                 errors=[{"text": self.words(self.lang(request), "consents_no_such_choice"),
                                          "href": f"#{purpose}"}])
            actions[action](person, purpose, channel="portal")
            return RedirectResponse("/consents?saved=1", status_code=303)

        @r.get("/consents/receipts.json")
        def receipts(request: Request) -> Response:
            person = signed_in(request)
            body = json.dumps(civic.consents.receipts(person), indent=2, ensure_ascii=False)
            return Response(body, media_type="application/json",
                            headers={"Content-Disposition": 'attachment; filename="consent-receipts.json"'})

        @r.get("/data", response_class=HTMLResponse)
        def data(request: Request) -> Response:
            person = signed_in(request)
            profile = civic.registry.profile(person)
            domains: dict[str, list] = {}
            for name, fact in sorted(profile.items()):
                spec = civic.pack.attributes.get(name)
                domains.setdefault(spec.domain if spec else "other", []).append((name, fact))
            names = {o["id"]: o["name"] for o in civic.store.organisations()}
            return self.page(request, "data.html", domains=domains, names=names)

        @r.get("/data/correct/{attribute}", response_class=HTMLResponse)
        def correct(request: Request, attribute: str) -> Response:
            signed_in(request)
            return self.page(request, "correct.html", attribute=attribute, errors=[], values={})

        @r.post("/data/correct/{attribute}", response_class=HTMLResponse)
        async def send_correction(request: Request, attribute: str) -> Response:
            person = signed_in(request)
            data = await self.form(request)
            if not data.get("details", "").strip():
                lang = self.lang(request)
                return self.page(request, "correct.html", status=400, attribute=attribute, values=data, errors=[
                    {"text": self.words(lang, "err_required", what=self.words(lang, "correct_label").lower()),
                     "href": "#details"}])
            civic.store.publish("civic.person.correction-requested", person,
                                {"attribute": attribute, "details": data["details"].strip()[:2000]}, civic.clock.now())
            return self.page(request, "done.html", message=self.words(self.lang(request), "correct_sent"))

        @r.get("/access", response_class=HTMLResponse)
        def access(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "access.html", entries=self._access(request, person))

        @r.get("/preferences", response_class=HTMLResponse)
        def preferences(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "preferences.html", prefs=civic.messenger.preferences(person).as_dict(),
                             channels=[c.value for c in CHANNELS], locales=list(self.words.catalogues))

        @r.post("/preferences", response_class=HTMLResponse)
        async def save_preferences(request: Request) -> Response:
            person = signed_in(request)
            form = await request.form()
            data = await self.form(request)
            current = civic.messenger.preferences(person).as_dict()
            first = data.get("channel") or (current["channels"] or ["inbox"])[0]
            needs = form.getlist("needs")
            civic.messenger.set_preferences(person, {**current, "channels": [first],
                                                     "language": data.get("language") or current["language"],
                                                     "large_print": "large_print" in needs,
                                                     "easy_read": "easy_read" in needs})
            return RedirectResponse("/preferences?saved=1", status_code=303)

        return r

    # -- what pages show ----------------------------------------------------------------
    def _consent_state(self, person: str, purpose: str) -> str:
        latest = self.civic.registry.store.latest_consents([person], purpose).get(person)
        return latest.state.value if latest else "not-given"

    def _purposes(self, person: str) -> list[dict[str, Any]]:
        """Every purpose with its real state under its model: opt-in, opt-out, notice-only, legal obligation."""
        purposes = self.civic.pack.purposes
        return [{"id": st.purpose, "title": purposes[st.purpose].title, "basis": purposes[st.purpose].lawful_basis,
                 "model": st.model.value, "state": st.state, "actions": list(st.actions), "why": st.why}
                for st in self.civic.consents.statuses(person)]

    def _plan(self, request: Request, person: str) -> dict[str, Any]:
        j = self.journey(person)
        if j is None:
            return {"journey": None}
        assess = (j.steps.get("reassess").result if j.steps.get("reassess") and j.steps["reassess"].result
                  else j.steps["assess"].result) or {}
        latest = next((j.steps[s].result for s in ("rematch", "match")
                       if j.steps.get(s) and isinstance(j.steps[s].result, dict) and j.steps[s].result.get("jobs")),
                      {}) or {}
        amount = None
        outputs = assess.get("outputs") or {}
        if assess.get("status") == "decided" and outputs.get("jsa_new_style_eligible"):
            amount = self.money(request, float(outputs.get("jsa_new_style_weekly_rate", 0)))
        benefit = self.benefit(request, person)
        booked = j.steps.get("interview").result if j.steps.get("interview") else None
        if booked and booked.get("starts"):
            cancelled = j.steps.get("interview-cancelled")
            booked = {**booked, "when": self.when(request, booked["starts"]),
                      "cancelled": bool(cancelled and cancelled.status.value == "done")}
        jobs = [{**job, "wage": self.money(request, job["wage_pence"] / 100),
                 "slot_times": [(s, self.when(request, s)) for s in job.get("slots", [])]}
                for job in latest.get("jobs", [])]
        review = j.steps.get("review-award")  # a decision maker overturned a refusal: the benefit is awarded
        return {"journey": j, "amount": amount, "benefit": benefit,
                "awarded_on_review": bool(review and review.status.value == "done"),
                "jobs": jobs, "paths": latest.get("paths", []),
                "income": latest.get("income", []), "booked": booked if booked and booked.get("starts") else None}

    def benefit(self, request: Request, person: str) -> dict[str, Any]:
        """New Style JSA as it stands: ``paid`` (awarded), ``stopped`` (with the date), or ``waiting``."""
        fact = self.civic.registry.profile(person).get("jsa_claimant")
        if fact is None:
            return {"state": "waiting"}
        day = self.day(request, (fact.valid_from or fact.observed_at).date())
        return {"state": "paid" if fact.value else "stopped", "since": day}

    def _survey(self, person: str, lang: str | None = None) -> dict[str, Any]:
        """The survey: what the moment asks, and what an undecided decision lacks, less what
        any organisation already holds."""
        civic = self.civic
        today = civic.clock.now().date()
        gaps = [a for a in civic.questions.decision_gaps(civic.services.decisions(person, today).values())
                if a in EARNINGS]
        plan = civic.questions.plan(person, ",".join(SURVEY + tuple(gaps)))
        names = {o["id"]: o["name"] for o in civic.store.organisations()}
        years: dict[str, str] = {}
        if gaps:
            d = civic.services.decide(person, ["jsa_relevant_tax_year_earlier", "jsa_relevant_tax_year_later"], today)
            lang = lang or self.words.default
            years = {k: self.words(lang, "why_tax_year", start=int(d.outputs[f"jsa_relevant_tax_year_{k}"]),
                                   end=int(d.outputs[f"jsa_relevant_tax_year_{k}"]) + 1)
                     for k in ("earlier", "later")} if d.status != "unknown" else {}
        return {"known": plan["known"], "ask": plan["ask"], "names": names, "years": years}

    def _modulus_ok(self, sort: str, account: str) -> bool:
        """Vocalink's modulus check with the pack's dated tables (a pack without them: format only)."""
        from ..adapters.modulus import tables
        from ..domain.bank_accounts import modulus_ok

        try:
            return modulus_ok(sort, account, tables(Path(self.civic.settings.pack_dir)))
        except FileNotFoundError:
            return True

    def _check(self, request: Request, data: dict[str, str], asked: list[str]):
        lang = self.lang(request)
        w = self.words
        answers: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        if "aspirations" in asked:
            if not data.get("aspirations", "").strip():
                errors.append({"text": w(lang, "err_required", what=w(lang, "q_aspirations").rstrip("?").lower()),
                               "href": "#aspirations", "field": "aspirations"})
            else:
                answers["aspirations"] = data["aspirations"].strip()[:500]
        if "travel_radius_miles" in asked:
            raw = data.get("travel_radius_miles", "").strip()
            if not raw.isdigit() or not 1 <= int(raw) <= 100:
                errors.append({"text": w(lang, "err_number"), "href": "#travel_radius_miles",
                               "field": "travel_radius_miles"})
            else:
                answers["travel_radius_miles"] = int(raw)
        if "bank_account" in asked:
            sort = re.sub(r"[\s-]", "", data.get("sort_code", ""))
            account = re.sub(r"\s", "", data.get("account_number", ""))
            if not SORT_CODE.match(sort):
                errors.append({"text": w(lang, "err_sort_code"), "href": "#sort_code", "field": "sort_code"})
            if not ACCOUNT.match(account):
                errors.append({"text": w(lang, "err_account_number"), "href": "#account_number",
                               "field": "account_number"})
            if SORT_CODE.match(sort) and ACCOUNT.match(account) and not self._modulus_ok(sort, account):
                errors.append({"text": w(lang, "err_bank_modulus"), "href": "#account_number",
                               "field": "account_number"})
            elif SORT_CODE.match(sort) and ACCOUNT.match(account):
                answers["bank_account"] = f"{sort[:2]}-{sort[2:4]}-{sort[4:]} {account.zfill(8)}"
        if data.get("class1_unknown") != "yes":
            for name in (a for a in EARNINGS if a in asked):
                raw = data.get(name, "").replace(",", "").replace("£", "").strip()
                if not MONEY.match(raw):
                    errors.append({"text": w(lang, "err_money"), "href": f"#{name}", "field": name})
                else:
                    answers[name] = round(float(raw) * 100)
        if "last_day_of_work" in asked:
            try:
                day = date(int(data.get("last_day_of_work-year", "")), int(data.get("last_day_of_work-month", "")),
                           int(data.get("last_day_of_work-day", "")))
            except ValueError:
                errors.append({"text": w(lang, "err_date"), "href": "#last_day_of_work", "field": "last_day_of_work"})
            else:
                if day > self.civic.clock.now().date():
                    errors.append({"text": w(lang, "err_date_future"), "href": "#last_day_of_work",
                                   "field": "last_day_of_work"})
                else:
                    answers["last_day_of_work"] = day.isoformat()
        return answers, errors

    def _access(self, request: Request, person: str) -> list[dict[str, str]]:
        lang = self.lang(request)
        w = self.words
        names = {o["id"]: o["name"] for o in self.civic.store.organisations()}
        out = []
        for e in self.civic.registry.store.log_for(person):
            who = names.get(e["recipient"], e["recipient"])
            why = w.get(lang, f"purpose.{e['purpose']}", e["purpose"].replace("-", " "))
            if e["outcome"] == "viewed":  # an officer looked, through the gate, as themselves
                who = w(lang, "access_officer", role=w.get(lang, f"staff_role.{e.get('role', '')}", e.get("role", "")),
                        org=w.get(lang, f"staff_org.{e['recipient']}", e["recipient"].replace("-", " ")))
                text = w(lang, "access_viewed", who=who, why=why)
            elif e["outcome"] == "answered":
                what = w.get(lang, f"check.{e.get('check', '')}", e.get("check", ""))
                text = w(lang, "access_answered", who=who, what=what, why=why)
            elif e.get("channel") == "reservation" and e["outcome"] == "disclosed":
                text = w(lang, "access_reservation_cancel" if e.get("action") == "cancel" else "access_reservation",
                         who=who, why=why)
            elif e["outcome"] == "refused":
                reason = w.get(lang, f"rule.{e.get('rule', '')}", e.get("reason", e.get("rule", "")))
                text = w(lang, "access_refused", who=who, why=why, reason=reason)
            else:
                what = ", ".join(w.get(lang, f"attr.{a}", a.replace("_", " ")) for a in e.get("attributes", [])) \
                    or w(lang, "access_nothing")
                text = w(lang, "access_disclosed", who=who, what=what, why=why)
            out.append({"at": e["at"][:16].replace("T", " "), "text": text, "outcome": e["outcome"]})
        return out


class CsrfError(Exception):
    pass


class _OnUse:
    """A value made when a page first prints it: a CSRF token (and so a stored session) only for
    pages that carry a form, not for every anonymous visit."""

    def __init__(self, make) -> None:
        self.make, self.value = make, None

    def __str__(self) -> str:
        if self.value is None:
            self.value = self.make()
        return self.value


class SignInNeeded(Exception):
    pass


def mount(api: FastAPI, civic) -> Portal | None:
    """Add the portal to the API's app: pages, assets, sessions."""
    settings = civic.settings
    if not settings.portal or not (civic.pack.root / "portal").is_dir():
        return None
    check_sign_in(settings)
    portal = Portal(civic)
    api.add_middleware(ServerSessions, store=civic.sessions, clock=civic.clock, cookie="civic_session",
                       max_age=8 * 3600, https_only=settings.public_url.startswith("https://"))
    assets = Path(settings.assets_dir)
    if assets.is_dir():
        api.mount("/assets", StaticFiles(directory=assets / "assets"), name="assets")
        api.mount("/static", StaticFiles(directory=assets), name="static")
    else:
        log.warning("GOV.UK Frontend is not installed: run npm ci", looked_in=str(assets))
    if portal.demo is not None:
        api.include_router(portal.demo.router())
    api.include_router(portal.router())
    api.include_router(erasure.router(portal))

    @api.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse("/sign-in", status_code=303)

    @api.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return portal.page(request, "csrf.html", status=400)

    return portal
