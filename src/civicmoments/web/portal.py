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
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    pass_context,
    select_autoescape,
)
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import formats
from ..domain import codes
from ..domain.messages import Channel
from ..logs import get
from ..packs.templates import to_html
from . import commitment, erasure, evidence
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
from .sessions import ServerSessions, ends_at, renew
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
CODE_MINUTES = 15  # a confirmation code lasts this long, by the platform's clock
CODE_TRIES = codes.TRIES  # wrong codes allowed before the person must ask for a new one
CONTACT_CHANNEL = {"phone": Channel.SMS, "email": Channel.EMAIL}
HIDDEN_TEMPLATES = ("contact-confirm", "bank-details-code")  # a code is read where it was sent, not in the inbox


class Portal:
    def __init__(self, civic) -> None:
        self.civic = civic
        settings = civic.settings
        self.words = Words(civic.pack.root / "portal", civic.pack.settings.locales)
        check_words(self.words, civic.services.catalogue, civic.pack.root / "portal")
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), PrefixLoader(
                {"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")})]),
            autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
            auto_reload=False)
        self.env.filters["paragraphs"] = lambda text: to_html(text, link_class="govuk-link")
        tz = civic.pack.settings.timezone
        for name, fn in {"day": formats.day, "time": formats.clock_time, "when": formats.when}.items():
            self.env.filters[name] = pass_context(lambda ctx, v, fn=fn: fn(v, ctx["lang"], tz))
        self.env.filters["money"] = pass_context(lambda ctx, v: formats.money(int(v), ctx["lang"]))
        self.env.filters["miles"] = pass_context(lambda ctx, v: formats.distance(v, ctx["lang"]))
        self.env.filters["job_title"] = formats.job_title
        self.env.globals["memo"] = MacroMemo()
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

    def flash(self, request: Request, key: str, **values: Any) -> None:
        """A success banner for the next page the person sees: what they just changed, in their language."""
        request.session["banner"] = {"key": key, "values": {k: str(v) for k, v in values.items()}}

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang(request)
        flashed = request.session.pop("banner", None) if "banner" in request.session else None
        if flashed and "banner" not in context:
            context["banner"] = self.words(lang, flashed["key"], **flashed["values"])
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
            if attribute == "bank_account":  # shown to its owner as the last four digits only
                return t("bank_last_four", last=str(value)[-4:])
            if attribute.endswith("_pence") and isinstance(value, int):
                return formats.money(value, lang)
            spec = self.civic.pack.attributes.get(attribute)
            if spec is not None and spec.type == "date" and isinstance(value, str) and len(value) == 10:
                return formats.day(value, lang)
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
            session_seconds=self._session_left(request),
            demo=self.civic.settings.demo_mode, **context)
        return HTMLResponse(html, status_code=status)

    def money(self, request: Request, pounds: float) -> str:
        """Pounds as the person reads them: "£31,492", "£90.15" (``formats.pounds``)."""
        return formats.pounds(pounds, self.lang(request), self.civic.pack.settings.currency)

    def day(self, request: Request, when) -> str:
        """A date in the person's language (1 December 2026), from a date or an ISO 8601 string."""
        return formats.day(when, self.lang(request), self.civic.pack.settings.timezone)

    def when(self, request: Request, iso_time: str) -> str:
        """A moment in UK local time, in the person's language: "Tuesday 8 December 2026, 10am"."""
        return formats.when(iso_time, self.lang(request), self.civic.pack.settings.timezone)

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

        from . import interviews, lifetime, payments, travel

        r.include_router(travel.router(self, signed_in))
        r.include_router(lifetime.router(self, signed_in))
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
            messages = self.messages(person)
            unread = [m for m in messages if not m["read_at"]]
            return self.page(request, "home.html", name=name, journey=j, steps=steps, unread=len(unread),
                             benefit=self.benefit(request, person) if j is not None else None,
                             consent=self._consent_state(person, "employment-support"),
                             tasks=self._tasks(request, person, j, messages) if j is not None else None)

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
            back = _local(request.session.get("next"))  # the page that asked the person to sign in
            request.session.clear()
            request.session.update({"person": person, "csrf": secrets.token_urlsafe(24),
                                    "signed_in_at": civic.clock.now().isoformat()})
            if lang:
                request.session["lang"] = lang
            return RedirectResponse(back, status_code=303)

        @r.post("/sign-out")
        async def sign_out(request: Request) -> Response:
            await self.form(request)
            request.session.clear()
            return RedirectResponse("/", status_code=303)

        @r.post("/session/renew")
        async def renew_session(request: Request) -> Response:
            """"Stay signed in" on the session-timeout warning: the session lasts its full time again from
            now. JSON ``{"seconds_left": int}``; 401 problem JSON when the session has already ended; 403
            problem JSON (``.../csrf``) when the form's CSRF token is not the session's, and the session is
            left as it was (still signed in: the page says to reload and try again)."""
            if self.person(request) is None:
                return JSONResponse({"type": "https://civicmoments.org/problems/signed-out", "status": 401,
                                     "title": "The session has ended; sign in again"}, status_code=401,
                                    media_type="application/problem+json")
            try:
                await self.form(request)
            except CsrfError:
                return JSONResponse({"type": "https://civicmoments.org/problems/csrf", "status": 403,
                                     "title": "The form's security token is out of date",
                                     "detail": "Nothing changed: you are still signed in. Reload the page and try "
                                               "again."}, status_code=403, media_type="application/problem+json")
            renew(request)
            return JSONResponse({"seconds_left": SESSION_SECONDS})

        @r.get("/signed-out", response_class=HTMLResponse)
        def signed_out(request: Request, lang: str | None = None) -> Response:
            """Where the timeout warning sends a person whose session has run out, in the language of the
            page they were on (``?lang=``; the session that held it has ended)."""
            if self.person(request) is not None:  # still signed in: nothing ran out
                return RedirectResponse("/", status_code=303)
            if lang in self.words.catalogues:
                request.session["lang"] = lang
            return self.page(request, "signed_out.html")

        @r.get("/language")
        def language(request: Request, to: str, next: str = "/") -> Response:  # noqa: A002 - the query's name
            if to in self.words.catalogues:
                request.session["lang"] = to
                person = self.person(request)
                if person is not None:  # the portal's language is the person's message language too
                    current = civic.messenger.preferences(person)
                    if current.language != to:
                        civic.messenger.set_preferences(person, {**current.as_dict(), "language": to})
            return RedirectResponse(_local(next), status_code=303)

        @r.get("/contact", response_class=HTMLResponse)
        def contact(request: Request) -> Response:
            return self.page(request, "contact.html")

        @r.get("/accessibility", response_class=HTMLResponse)
        def accessibility(request: Request) -> Response:
            return self.page(request, "accessibility.html")

        @r.get("/privacy", response_class=HTMLResponse)
        def privacy(request: Request) -> Response:
            return self.page(request, "privacy.html")

        @r.get("/inbox", response_class=HTMLResponse)
        def inbox(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "inbox.html", messages=self.messages(person, reveal=True))

        @r.get("/inbox/{message_id}", response_class=HTMLResponse)
        def message(request: Request, message_id: str) -> Response:
            person = signed_in(request)
            found = [m for m in self.messages(person, reveal=True) if m["id"] == message_id]
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

        def changing(raw: str) -> list[str]:
            """Answers the person asks to change; never bank details once held: a change of account goes
            through /payments/bank-details, with its code, its hold and its message."""
            return [a for a in raw.split(",") if a in SURVEY and a != "bank_account"]

        @r.get("/survey", response_class=HTMLResponse)
        def survey(request: Request, change: str = "") -> Response:
            person = signed_in(request)
            pending = request.session.get("survey_pending") or {}
            change = change or ",".join(pending.get("change", []))
            return self.page(request, "survey.html", **self._survey(person, self.lang(request), changing(change)),
                             values=pending.get("values", {}), errors=[], change=change)

        @r.post("/survey", response_class=HTMLResponse)
        async def answer(request: Request) -> Response:
            """Answers are checked, then shown back ("Check your answers"); nothing is saved yet."""
            person = signed_in(request)
            data = await self.form(request)
            change = changing(data.get("change", ""))
            plan = self._survey(person, self.lang(request), change)
            asked = [q["attribute"] for q in plan["ask"]]
            answers, errors = self._check(request, data, asked)
            if errors:
                return self.page(request, "survey.html", status=400, values=data, errors=errors,
                                 change=",".join(change), **plan)
            # Bank details are not kept in the session: the check page carries them back, to be saved on confirm.
            keep = {k: v for k, v in data.items() if k not in ("csrf_token", "sort_code", "account_number", "change")}
            request.session["survey_pending"] = {"values": keep, "change": change}
            bank = {"sort_code": data.get("sort_code", ""), "account_number": data.get("account_number", "")} \
                if "bank_account" in answers else None
            rows = self._answer_rows(request, asked, answers, data, plan["years"])
            return self.page(request, "survey_check.html", rows=rows,
                             bank=bank)

        @r.post("/survey/confirm", response_class=HTMLResponse)
        async def confirm_answers(request: Request) -> Response:
            person = signed_in(request)
            data = await self.form(request)
            pending = request.session.get("survey_pending")
            if not pending:
                return RedirectResponse("/survey", status_code=303)
            values = {**pending["values"], "sort_code": data.get("sort_code", ""),
                      "account_number": data.get("account_number", "")}
            plan = self._survey(person, self.lang(request), pending.get("change", []))
            asked = [q["attribute"] for q in plan["ask"]]
            answers, errors = self._check(request, values, asked)
            if errors:
                return self.page(request, "survey.html", status=400, values=values, errors=errors,
                                 change=",".join(pending.get("change", [])), **plan)
            cannot = [a for a in asked if a in EARNINGS] if values.get("class1_unknown") == "yes" else []
            if answers or cannot:
                civic.questions.answer(person, answers, cannot)
            request.session.pop("survey_pending", None)
            self.flash(request, "saved_answers")
            return RedirectResponse("/", status_code=303)

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
            title = self.words.get(self.lang(request), f"title.{purpose}", civic.pack.purposes[purpose].title)
            self.flash(request, f"saved_consent_{action}", what=title)
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
            profile = civic.registry.profile(person, reveal=("bank_account",))  # shown as its last four digits
            domains: dict[str, list] = {}
            for name, fact in sorted(profile.items()):
                spec = civic.pack.attributes.get(name)
                domains.setdefault(spec.domain if spec else "other", []).append((name, fact))
            names = {o["id"]: o["name"] for o in civic.store.organisations()}
            return self.page(request, "data.html", domains=domains, names=names, changeable=SURVEY)

        @r.get("/data/correct/{attribute}", response_class=HTMLResponse)
        def correct(request: Request, attribute: str) -> Response:
            signed_in(request)
            return self.page(request, "correct.html", attribute=attribute, errors=[], values={})

        @r.post("/data/correct/{attribute}", response_class=HTMLResponse)
        async def send_correction(request: Request, attribute: str) -> Response:
            person = signed_in(request)
            data = await self.form(request)
            details, lang = data.get("details", "").strip(), self.lang(request)
            what = self.words(lang, "correct_label")
            problem = self.words(lang, "err_required", what=what.lower()) if not details else \
                self.words(lang, "err_too_long", limit=TEXT_MAX) if len(details) > TEXT_MAX else None
            if problem:
                return self.page(request, "correct.html", status=400, attribute=attribute, values=data,
                                 errors=[{"text": problem, "href": "#details"}])
            civic.store.publish("civic.person.correction-requested", person,
                                {"attribute": attribute, "details": details}, civic.clock.now())
            return self.page(request, "done.html", message=self.words(self.lang(request), "correct_sent_case"))

        @r.get("/access", response_class=HTMLResponse)
        def access(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "access.html", entries=self._access(request, person),
                             reported=self._reported(request, person))

        @r.get("/preferences", response_class=HTMLResponse)
        def preferences(request: Request) -> Response:
            person = signed_in(request)
            return self.page(request, "preferences.html", prefs=civic.messenger.preferences(person).as_dict(),
                             contacts=self._contacts(person), channels=[c.value for c in CHANNELS],
                             locales=list(self.words.catalogues))

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
            self.flash(request, "saved_preferences")
            if data.get("language") in self.words.catalogues:  # the portal follows the message language
                request.session["lang"] = data["language"]
            return RedirectResponse("/preferences?saved=1", status_code=303)

        @r.get("/preferences/contact/{kind}", response_class=HTMLResponse)
        def contact_details(request: Request, kind: str) -> Response:
            person = signed_in(request)
            if kind not in CONTACT_CHANNEL:
                return self.page(request, "not_found.html", status=404)
            return self.page(request, "contact_details.html", kind=kind, value=self._contacts(person)[kind] or "")

        @r.post("/preferences/contact/{kind}", response_class=HTMLResponse)
        async def send_code(request: Request, kind: str) -> Response:
            person = signed_in(request)
            data = await self.form(request)
            if kind not in CONTACT_CHANNEL:
                return self.page(request, "not_found.html", status=404)
            raw = data.get("value", "").strip()[:320]
            value, problem = _contact_value(kind, raw)
            if problem is None and CONTACT_CHANNEL[kind] not in civic.messenger.channels:
                log.warning("confirmation code not sent: no provider", kind=kind)  # never "we have sent a code"
                problem = "contact_err_not_sent"
            if problem is None:
                code, salt, hashed = codes.new_code()
                try:
                    civic.messenger.confirm_contact(person, CONTACT_CHANNEL[kind], value, code, CODE_MINUTES)
                except Exception:  # noqa: BLE001 - the person is told, the log keeps the reason
                    log.warning("confirmation code not queued", kind=kind)
                    problem = "contact_err_not_sent"
            if problem is not None:
                errors = [{"text": self.words(self.lang(request), problem), "href": f"#{kind}"}]
                return self.page(request, "contact_details.html", status=400, kind=kind, value=raw, errors=errors)
            expires = civic.clock.now() + timedelta(minutes=CODE_MINUTES)
            request.session["contact_pending"] = {"kind": kind, "value": value, "salt": salt,
                                                  "hash": hashed, "expires": expires.isoformat(),
                                                  "tries": 0}
            return RedirectResponse("/preferences/code", status_code=303)

        @r.get("/preferences/code", response_class=HTMLResponse, name="contact_code")
        def enter_code(request: Request) -> Response:
            signed_in(request)
            pending = request.session.get("contact_pending")
            if not pending:
                return RedirectResponse("/preferences", status_code=303)
            return self.page(request, "contact_code.html", kind=pending["kind"], to=pending["value"],
                             minutes=CODE_MINUTES)

        @r.post("/preferences/code", response_class=HTMLResponse)
        async def check_code(request: Request) -> Response:
            person = signed_in(request)
            data = await self.form(request)
            pending = request.session.get("contact_pending")
            if not pending:
                return RedirectResponse("/preferences", status_code=303)
            problem = codes.problem(data.get("code", ""), salt=pending["salt"], hashed=pending["hash"],
                                    expires=datetime.fromisoformat(pending["expires"]), tries=pending["tries"],
                                    now=civic.clock.now(), max_tries=CODE_TRIES)
            if problem == codes.WRONG:
                pending = {**pending, "tries": pending["tries"] + 1}  # a new value, so the session saves it
                request.session["contact_pending"] = pending
                problem = codes.TOO_MANY if pending["tries"] >= CODE_TRIES else codes.WRONG
            problem = problem and f"code_err_{problem}"
            if problem is not None:
                errors = [{"text": self.words(self.lang(request), problem), "href": "#code"}]
                return self.page(request, "contact_code.html", status=400, kind=pending["kind"], to=pending["value"],
                                 minutes=CODE_MINUTES, errors=errors)
            kind, value = pending["kind"], pending["value"]
            facts = [{"attribute": kind, "value": value, "basis": "declared", "tier": "bronze"}]
            if f"{kind}_valid" in civic.pack.attributes:  # a confirmed detail is a working one again
                facts.append({"attribute": f"{kind}_valid", "value": True, "basis": "declared", "tier": "bronze"})
            civic.registry.record(None, person, facts)
            request.session.pop("contact_pending", None)
            self.flash(request, f"saved_{kind}", value=value)
            return RedirectResponse("/preferences", status_code=303)

        return r

    def messages(self, person: str, reveal: bool = False) -> list[dict[str, Any]]:
        """The person's messages as the portal shows them: codes for contact details are left out."""
        return [m for m in self.civic.messenger.of_person(person, reveal=reveal)
                if m["template"] not in HIDDEN_TEMPLATES]

    def _contacts(self, person: str) -> dict[str, str | None]:
        profile = self.civic.registry.profile(person)
        return {k: (str(profile[k].value) if k in profile else None) for k in CONTACT_CHANNEL}

    def _session_left(self, request: Request) -> int:
        """Seconds until the stored session ends (8 hours from sign-in or from the last "Stay signed in"),
        for the timeout warning; the full time for a session not stored yet."""
        ends = ends_at(request)
        if ends is None:
            return SESSION_SECONDS
        return max(int((ends - self.civic.clock.now()).total_seconds()), 0)

    # -- what pages show ----------------------------------------------------------------
    def _tasks(self, request: Request, person: str, j, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The home page's task list for the journey: what has happened, what the person needs to do
        and by when, and what we will do and by when, each with a date and a status."""
        from datetime import datetime, timedelta

        lang = self.lang(request)
        w = self.words
        tz = self.civic.pack.settings.timezone
        civic = self.civic

        def step(name: str):
            return j.steps.get(name)

        def status(name: str) -> str:
            run = step(name)
            return run.status.value if run else "pending"

        happened = []
        data = (j.trigger or {}).get("data") or {}
        if data.get("last_day"):
            names = {o["id"]: o["name"] for o in civic.store.organisations()}
            source = (j.trigger or {}).get("source", "")
            org = next((o["name"] for o in civic.store.organisations()
                        if any(source.startswith(x.rstrip("*")) for x in o.get("sources", []))), None)
            happened.append(w(lang, "tasks_happened_report", org=org or names.get(source, source),
                              date=formats.day(data["last_day"], lang, tz)))
        todo = []
        notices = [m for m in messages if m.get("template") == "notice-of-assistance"]
        if notices:
            notice = notices[0]
            todo.append({"text": w(lang, "task_notice", date=formats.day(notice["created_at"], lang, tz)),
                         "href": f"/inbox/{notice['id']}", "status": "done" if notice["read_at"] else "todo",
                         "id": "task-notice"})
        consent = self._consent_state(person, "employment-support")
        todo.append({"text": w(lang, "task_consent"), "href": "/consents#employment-support",
                     "status": "done" if consent == "given" else "optional", "id": "task-consent"})
        survey = step("survey")
        if survey is not None and survey.status.value != "pending":
            if survey.status.value == "waiting" and survey.started_at:
                by = datetime.fromisoformat(survey.started_at) + timedelta(days=14)
                todo.append({"text": w(lang, "task_survey", date=formats.day(by, lang, tz)), "href": "/survey",
                             "status": "todo", "id": "task-survey"})
            else:
                todo.append({"text": w(lang, "task_survey_done"), "href": "/survey", "status": "done",
                             "id": "task-survey"})
        booked = step("interview").result if step("interview") and step("interview").result else None
        if booked and booked.get("starts") and status("interview-cancelled") != "done":
            todo.append({"text": w(lang, "task_booked", when=formats.when(booked["starts"], lang, tz)),
                         "href": "/plan", "status": "todo", "id": "task-interview"})
        elif status("plan") == "done":
            todo.append({"text": w(lang, "task_book"), "href": "/plan#book", "status": "optional",
                         "id": "task-interview"})
        ours = []
        benefit = self.benefit(request, person)
        if benefit["state"] == "paid":
            ours.append({"text": w(lang, "task_benefit_paid", date=benefit["since"]), "status": "done",
                         "id": "task-benefit"})
        elif benefit["state"] == "stopped":
            ours.append({"text": w(lang, "task_benefit_stopped", date=benefit["since"]), "status": "done",
                         "id": "task-benefit"})
        elif survey is not None and survey.status.value == "waiting" and survey.started_at:
            by = datetime.fromisoformat(survey.started_at) + timedelta(days=14)
            ours.append({"text": w(lang, "task_benefit_waiting", date=formats.day(by, lang, tz)),
                         "status": "waiting", "id": "task-benefit"})
        else:
            ours.append({"text": w(lang, "plan_benefit_review"), "status": "waiting", "id": "task-benefit"})
        return {"happened": happened, "todo": todo, "ours": ours}

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
                      "title": formats.job_title(booked.get("title", "")),
                      "cancelled": bool(cancelled and cancelled.status.value == "done")}
        lang = self.lang(request)
        jobs = [{**job, "title": formats.job_title(job["title"]), "wage": formats.money(job["wage_pence"], lang),
                 "distance": formats.distance(job.get("miles"), lang),
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

    def _survey(self, person: str, lang: str | None = None, change: list[str] | None = None) -> dict[str, Any]:
        """The survey: what the moment asks, and what an undecided decision lacks, less what
        any organisation already holds (the employer's last day of work is such a fact, with its
        source). ``change`` names answers the person gave before and wants to change: they are
        asked again."""
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
        known, ask = plan["known"], plan["ask"]
        again = [k for k in known if k["attribute"] in (change or ()) and k["source"] in (None, "self")]
        if again:
            known = [k for k in known if k not in again]
            ask = ask + [{"attribute": k["attribute"]} for k in again]
        paying = self._payments_expected(person, today)
        if not paying:  # bank details only where a payment needs them
            ask = [q for q in ask if q["attribute"] != "bank_account"]
        lang = lang or self.words.default
        names_of = [self.words.get(lang, f"service.{sid}", civic.services.catalogue[sid].name) for sid in paying]
        pay_for = self.words(lang, "and_between").join(names_of) if len(names_of) < 3 else \
            ", ".join(names_of[:-1]) + self.words(lang, "and_between") + names_of[-1]
        return {"known": known, "ask": ask, "names": names, "years": years, "pay_for": pay_for}

    def _payments_expected(self, person: str, today: date) -> list[str]:
        """The paying services (those with ``pays`` in the catalogue) a payment is expected from: an
        award the person holds that is not stopped, or one the rules say they can get now with an
        amount above nothing. Ids, in catalogue order; empty when nothing will be paid."""
        from ..engine.payments import STOPPED

        catalogue = self.civic.services.catalogue
        paying = [sid for sid, s in catalogue.items() if getattr(s, "pays", None)]
        held = {a["service"] for a in self.civic.payments.store.awards_of(person) if a["status"] != STOPPED}
        entitled = {e["service"] for e in self.civic.services.for_person(person, today)["eligible"]
                    if (e.get("amount") or 0) > 0}
        return [sid for sid in paying if sid in held or sid in entitled]

    def _answer_rows(self, request: Request, asked: list[str], answers: dict[str, Any],
                     data: dict[str, str], years: dict[str, str]) -> list[dict[str, str]]:
        """"Check your answers": each question, the answer as the person reads it, and where to change it."""
        lang = self.lang(request)
        w = self.words
        rows = []
        for name in asked:
            key = "q_class1_earnings" if name in EARNINGS else f"q_{name}"
            if name in EARNINGS and data.get("class1_unknown") == "yes":
                value = w(lang, "check_not_known")
            elif name not in answers:
                continue
            elif name == "bank_account":
                value = w(lang, "bank_last_four", last=answers[name][-4:])
            elif name == "travel_radius_miles":
                value = formats.distance(answers[name], lang)
            elif name == "last_day_of_work":
                value = formats.day(answers[name], lang)
            elif name in EARNINGS:
                value = formats.money(answers[name], lang)
            else:
                value = str(answers[name])
            href = "#sort_code" if name == "bank_account" else (
                "#last_day_of_work-day" if name == "last_day_of_work" else f"#{name}")
            question = w(lang, key)
            if name in EARNINGS and years:
                which = w(lang, f"q_{name}", earlier=years.get("earlier", ""), later=years.get("later", ""))
                question += f" ({which})"
            rows.append({"key": question, "value": value,
                         "href": "/survey" + href, "field": name})
        return rows

    def _modulus_ok(self, sort: str, account: str) -> bool:
        """Vocalink's modulus check with the pack's dated tables (a pack without them: format only)."""
        from ..adapters.modulus import tables
        from ..domain.bank_accounts import modulus_ok

        try:
            return modulus_ok(sort, account, tables(Path(self.civic.settings.pack_dir)))
        except FileNotFoundError:
            return True

    def bank_details(self, lang: str, data: dict[str, str]) -> tuple[str | None, list[dict[str, str]]]:
        """The sort code and account number of a form (``sort_code``, ``account_number``) as the registry
        keeps them ("SS-SS-SS AAAAAAAA"), or None with the errors for a GOV.UK error summary: the format,
        then Vocalink's modulus check."""
        w = self.words
        sort = re.sub(r"[\s-]", "", data.get("sort_code", ""))
        account = re.sub(r"\s", "", data.get("account_number", ""))
        errors = []
        if not SORT_CODE.match(sort):
            errors.append({"text": w(lang, "err_sort_code"), "href": "#sort_code", "field": "sort_code"})
        if not ACCOUNT.match(account):
            errors.append({"text": w(lang, "err_account_number"), "href": "#account_number",
                           "field": "account_number"})
        if errors:
            return None, errors
        if not self._modulus_ok(sort, account):
            return None, [{"text": w(lang, "err_bank_modulus"), "href": "#account_number", "field": "account_number"}]
        return f"{sort[:2]}-{sort[2:4]}-{sort[4:]} {account.zfill(8)}", []

    def _check(self, request: Request, data: dict[str, str], asked: list[str]):
        lang = self.lang(request)
        w = self.words
        answers: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        if "aspirations" in asked:
            if not data.get("aspirations", "").strip():
                errors.append({"text": w(lang, "err_aspirations"), "href": "#aspirations", "field": "aspirations"})
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
            value, problems = self.bank_details(lang, data)
            errors.extend(problems)
            if value is not None:
                answers["bank_account"] = value
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
                errors.append({"text": w(lang, "err_date"), "href": "#last_day_of_work-day",
                               "field": "last_day_of_work"})
            else:
                if day > self.civic.clock.now().date():
                    errors.append({"text": w(lang, "err_date_future"), "href": "#last_day_of_work-day",
                                   "field": "last_day_of_work"})
                else:
                    answers["last_day_of_work"] = day.isoformat()
        return answers, errors

    def _reported(self, request: Request, person: str) -> list[dict[str, str]]:
        """What organisations told us about the person (an employer's report, a register's facts), in
        plain words: who, which facts, and when, newest first."""
        lang = self.lang(request)
        w = self.words
        names = {o["id"]: o["name"] for o in self.civic.store.organisations()}
        told: dict[str, dict[str, Any]] = {}
        for name, fact in self.civic.registry.profile(person).items():
            if fact.source in (None, "self", "civicmoments"):
                continue
            entry = told.setdefault(fact.source, {"attrs": [], "at": fact.observed_at})
            entry["attrs"].append(w.get(lang, f"attr.{name}", name.replace("_", " ")))
            entry["at"] = max(entry["at"], fact.observed_at)
        out = []
        for org, entry in sorted(told.items(), key=lambda kv: kv[1]["at"], reverse=True):
            out.append({"at": formats.day(entry["at"], lang, self.civic.pack.settings.timezone),
                        "text": w(lang, "access_reported", who=names.get(org, org),
                                  what=", ".join(sorted(entry["attrs"])))})
        return out

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
            elif e["outcome"] == "referred":  # a case about them went to another organisation's queue
                text = w(lang, "access_referred", who=who, why=why)
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
            out.append({"at": formats.when(e["at"], lang, self.civic.pack.settings.timezone), "text": text,
                        "outcome": e["outcome"]})
        return out


TEXT_MAX = 2000  # the most a person may write in one box (a correction, why to look again)
SESSION_SECONDS = 8 * 3600  # how long a session lasts from sign-in or "Stay signed in" (``mount``)


def _contact_value(kind: str, raw: str) -> tuple[str, str | None]:
    """(normalised value, None) or (raw, the words key of the problem).

    A phone number must be a mobile on the UK's +44 plan and comes back in E.164 (``+447400123456``), checked
    with ``phonenumbers``; an email address is checked and normalised with ``email-validator``
    (syntax only; the code proves it is delivered).
    """
    if not raw:
        return raw, f"contact_err_{kind}_missing"
    if kind == "phone":
        try:
            number = phonenumbers.parse(raw, "GB")
        except phonenumbers.NumberParseException:
            return raw, "contact_err_phone_invalid"
        if (not phonenumbers.is_valid_number(number) or number.country_code != 44
                or phonenumbers.number_type(number) is not phonenumbers.PhoneNumberType.MOBILE):
            return raw, "contact_err_phone_invalid"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
    try:
        return validate_email(raw, check_deliverability=False).normalized, None
    except EmailNotValidError:
        return raw, "contact_err_email_invalid"


def _local(target: str | None) -> str:
    """A path on this site to go back to, or the home page: never another site (``//host``, ``/\\host``)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


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


class MacroMemo:
    """The markup of GOV.UK Frontend macros that every page repeats (the skip link, header, navigation
    and phase banner), kept by their arguments: a macro imported without the page's context depends
    on its arguments alone, so equal arguments give equal markup, and the page reuses it instead of
    rendering it again. In templates: ``memo(govukSkipLink, {...})``.

    A value that differs from person to person (the CSRF token in the navigation's sign-out form) is
    left out of the arguments: they carry ``memo.hole`` in its place, and ``hole=`` fills it in (escaped)
    after. At most ``size`` outputs are kept; when full, the memo starts again empty."""

    hole = Markup("\x00hole\x00")

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._kept: dict[tuple, Markup] = {}
        self._lock = threading.Lock()

    def __call__(self, macro, params: dict, hole: object = None) -> Markup:
        key = (macro.name, _frozen(params))
        out = self._kept.get(key)
        if out is None:
            out = Markup(macro(params))
            with self._lock:
                if len(self._kept) >= self.size:
                    self._kept.clear()
                self._kept[key] = out
        return Markup(out.replace(self.hole, escape(str(hole or "")))) if self.hole in out else out


def _frozen(value: Any) -> Any:
    """A hashable copy of a macro's arguments that tells markup (used as it is) from text (escaped)."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("list", tuple(_frozen(v) for v in value))
    if isinstance(value, Markup):
        return ("markup", str(value))
    return (type(value).__name__, value if isinstance(value, str | int | float | bool | None) else str(value))


MACHINE = ("/v1", "/healthz", "/metrics", "/openapi.json", "/docs")
_FONT_FACE = re.compile(r"(?:/\*![^*]*\*/)?@font-face\{[^}]*\}")
PORTAL_CSS = """
.civic-header-end{display:flex;flex-wrap:wrap;align-items:center;gap:0 20px;padding:10px 0}
.civic-sign-out{display:inline;margin:0}
.civic-link-button{background:none;border:0;padding:0;cursor:pointer;font:inherit;font-size:1rem;
 color:#1d70b8;text-decoration:underline;text-decoration-thickness:max(1px,.0625rem);text-underline-offset:.1578em}
.civic-link-button:hover{color:#003078;text-decoration-thickness:max(3px,.1875rem)}
.civic-link-button:focus{outline:3px solid transparent;color:#0b0c0c;background-color:#fd0;
 box-shadow:0 -2px #fd0,0 4px #0b0c0c;text-decoration:none}
.civic-language{font-size:1rem}
dialog.civic-timeout{max-width:30em;border:5px solid #0b0c0c;padding:30px}
"""


def _off_govuk(css: str) -> str:
    """GOV.UK Frontend's stylesheet for a service that is not on GOV.UK: no GDS Transport font faces
    and Arial in their place (GOV.UK Frontend: "if your service is not on GOV.UK, you must not use
    the GOV.UK typeface"), plus the portal's own few rules."""
    css = _FONT_FACE.sub("", css).replace("GDS Transport,arial,sans-serif", "arial,sans-serif")
    return css.replace("font-family:GDS Transport", "font-family:arial") + PORTAL_CSS


def mount(api: FastAPI, civic) -> Portal | None:
    """Add the portal to the API's app: pages, assets, sessions."""
    settings = civic.settings
    if not settings.portal or not (civic.pack.root / "portal").is_dir():
        return None
    check_sign_in(settings)
    portal = Portal(civic)
    api.add_middleware(ServerSessions, store=civic.sessions, clock=civic.clock, cookie="civic_session",
                       max_age=SESSION_SECONDS, https_only=settings.public_url.startswith("https://"))
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
    api.include_router(evidence.router(portal))
    api.include_router(commitment.router(portal))

    @api.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        if request.method == "GET":  # after signing in, the person comes back to the page that asked
            request.session["next"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/sign-in", status_code=303)

    problem = api.exception_handlers.get(StarletteHTTPException)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """Problem JSON under ``/v1`` (and for the machine routes); a GOV.UK page, with its ``lang``, elsewhere."""
        if exc.status_code == 404 and not request.url.path.startswith(MACHINE):
            return portal.page(request, "not_found.html", status=404)
        return await problem(request, exc)

    @api.exception_handler(Exception)
    async def _broken(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", path=request.url.path, error=type(exc).__name__)
        if request.url.path.startswith(MACHINE):
            return JSONResponse({"type": "https://civicmoments.org/problems/internal-error",
                                 "title": "Something went wrong on our side", "status": 500},
                                status_code=500, media_type="application/problem+json")
        try:
            return portal.page(request, "error.html", status=500)
        except Exception:  # noqa: BLE001 - the error page itself failed: plain words, still in HTML
            return HTMLResponse("<!DOCTYPE html><html lang=\"en\"><title>Sorry, there is a problem with the "
                                "service</title><h1>Sorry, there is a problem with the service</h1></html>",
                                status_code=500)

    css = Path(settings.assets_dir) / "govuk-frontend.min.css"

    @api.get("/portal-assets/portal.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(_off_govuk(css.read_text()) if css.exists() else "", media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})

    @api.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return portal.page(request, "csrf.html", status=400)

    return portal
