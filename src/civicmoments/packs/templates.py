"""Message templates: versioned, in every locale of the pack, rendered by Jinja in a sandbox.

A template file names the placeholders it uses. Loading rejects a template that uses a
placeholder it does not declare, so a typo is caught when the pack loads, not when a
letter goes out with a blank in it. Dates and money are formatted for the locale by Babel.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .. import formats
from .yamlmap import PackError, load

FIELDS = ("subject", "short", "long")  # short: SMS; long: email, letter and inbox
OPTIONAL_FIELDS = ("easy",)  # an easy-read version of the long text
BUILTIN = {"name": "the person's given name", "full_name": "the person's full name",
           "today": "today's date", "portal_url": "where the person signs in"}
SMS_LIMIT = 918  # six SMS fragments, as GOV.UK Notify allows for a text message


class TemplateRenderError(ValueError):
    """A template could not be rendered with the values given (a missing value, a bad type)."""


@dataclass(frozen=True)
class PackSettings:
    locales: tuple[str, ...] = ("en",)
    timezone: str = "Europe/London"
    currency: str = "GBP"
    region: str = "GB"  # dates and numbers as written in this country: en -> en_GB

    def babel_locale(self, locale: str) -> str:
        return locale if "_" in locale else f"{locale}_{self.region}"


@dataclass(frozen=True)
class Rendered:
    template: str
    version: int
    locale: str
    subject: str
    short: str
    long: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _money(locale: str, currency: str):
    @lru_cache(maxsize=4096)  # a run of messages repeats the same few amounts
    def money(pence: Any) -> str:
        if pence is None:
            raise TemplateRenderError("money needs an amount in pence; got nothing")
        return formats.money(int(pence), locale, currency)
    return money


def _pounds(locale: str, currency: str):
    money = _money(locale, currency)

    def pounds(amount: Any) -> str:
        return money(round(float(amount) * 100))
    return pounds


def _datetime(locale: str, timezone: str):
    def fmt(value: Any) -> str:
        moment = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
        return formats.when(moment, locale, ZoneInfo(timezone))
    return fmt


def _date(locale: str):
    @lru_cache(maxsize=4096)
    def fmt(value: Any, form: str = "long") -> str:
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            value = value.date()
        return formats.day(value, locale) if form == "long" else format_date(value, format=form, locale=locale)
    return fmt


def _days_after(value: Any, days: int) -> date:
    """The date ``days`` after ``value`` (a date, or an ISO date string): "answer by" dates."""
    from datetime import timedelta

    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return value + timedelta(days=int(days))


def months_after(value: Any, months: int) -> date:
    """The same day `months` calendar months later, or the month's last day when it has no such
    day (31 January + 1 month = 28 or 29 February): how "within one month" deadlines run, such as
    an appeal to the First-tier Tribunal after a mandatory reconsideration notice (Tribunal
    Procedure (First-tier Tribunal) (Social Entitlement Chamber) Rules 2008, r.22(2)(d))."""
    import calendar

    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(day, datetime):
        day = day.date()
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, but ``job.title`` on a plain dict reads the key at once rather
    than after failing to find an attribute of that name (an exception per lookup): the same
    answer, since a name that is not one of dict's attributes can only be a key."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _environment(locale: str, settings: PackSettings) -> ImmutableSandboxedEnvironment:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False,
                                        trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = _money(locale, settings.currency)  # from pence
    env.filters["pounds"] = _pounds(locale, settings.currency)
    env.filters["date"] = _date(locale)
    env.filters["datetime"] = _datetime(locale, settings.timezone)
    env.filters["days_after"] = _days_after
    env.filters["months_after"] = months_after
    env.filters["miles"] = lru_cache(maxsize=4096)(lambda v: formats.distance(v, locale))  # a few distances recur
    env.filters["job_title"] = formats.job_title
    return env


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    purpose: str | None
    placeholders: dict[str, str]
    texts: dict[str, dict[str, Any]]  # locale -> field -> compiled Jinja template
    source_file: str

    def render(self, locale: str, values: dict[str, Any], easy_read: bool = False) -> Rendered:
        texts = self.texts.get(locale) or next(iter(self.texts.values()))
        locale = locale if locale in self.texts else next(iter(self.texts))
        missing = [p for p in self.placeholders if p not in values]
        if missing:
            raise TemplateRenderError(f"template {self.id!r} needs a value for {', '.join(missing)}")
        body = "easy" if easy_read and "easy" in texts else "long"  # only the text the person gets is rendered
        try:
            out = {f: texts[f].render(values).strip() for f in ("subject", "short", body)}
        except (UndefinedError, SecurityError, TypeError, ValueError) as exc:
            raise TemplateRenderError(f"template {self.id!r} ({locale}): {exc}") from None
        return Rendered(self.id, self.version, locale, out["subject"], out["short"], out[body])


def load_settings(file: Path) -> PackSettings:
    if not file.exists():
        return PackSettings()
    doc = load(file)
    data = doc.data or {}
    locales = data.get("locales", ["en"])
    if not isinstance(locales, list) or not locales or not all(isinstance(x, str) for x in locales):
        raise doc.error(("locales",), "'locales' lists language codes, the default first: [en, cy]")
    return PackSettings(tuple(locales), str(data.get("timezone", "Europe/London")),
                        str(data.get("currency", "GBP")), str(data.get("region", "GB")))


def load_template(file: Path, settings: PackSettings) -> Template:
    doc = load(file)
    d = doc.data
    if not isinstance(d, dict):
        raise doc.error((), "a template is a mapping with 'template', 'version' and one section per locale")
    allowed = {"template", "version", "purpose", "placeholders", *settings.locales}
    for key in d:
        if key not in allowed:
            raise doc.error((key,), f"unknown key {key!r}; a template has {', '.join(sorted(allowed))}")
    tid, version = d.get("template"), d.get("version")
    if not isinstance(tid, str) or not tid:
        raise doc.error(("template",), "'template' is the template's id")
    if not isinstance(version, int) or version < 1:
        raise doc.error(("version",), "'version' is a whole number, at least 1, raised on every change")
    placeholders = d.get("placeholders") or {}
    if not isinstance(placeholders, dict):
        raise doc.error(("placeholders",), "'placeholders' maps each name to what it holds")
    clash = set(placeholders) & set(BUILTIN)
    if clash:
        raise doc.error(("placeholders",), f"{sorted(clash)[0]!r} is filled in by the platform; "
                                           "do not declare it")
    known = set(placeholders) | set(BUILTIN)
    texts: dict[str, dict[str, Any]] = {}
    for locale in settings.locales:
        section = d.get(locale)
        if not isinstance(section, dict):
            raise doc.error((locale,) if locale in d else (),
                            f"template {tid!r} has no {locale!r} text; the pack's locales are "
                            f"{', '.join(settings.locales)}")
        env = _environment(settings.babel_locale(locale), settings)
        compiled = {}
        for field in FIELDS + OPTIONAL_FIELDS:
            if field not in section:
                if field in OPTIONAL_FIELDS:
                    continue
                raise doc.error((locale,), f"the {locale!r} text needs '{field}'")
            source = section[field]
            path = (locale, field)
            if not isinstance(source, str):
                raise doc.error(path, f"'{field}' is text")
            try:
                used = meta.find_undeclared_variables(env.parse(source))
                compiled[field] = env.from_string(source)
                # A plain dict rather than Jinja's ChainMap over the environment's globals (never
                # changed after this): each render copies them, and a ChainMap copies slowly.
                compiled[field].globals = dict(compiled[field].globals)
            except TemplateSyntaxError as exc:
                raise doc.error(path, f"template syntax, line {exc.lineno} of the text: {exc.message}") from None
            unknown = sorted(used - known)
            if unknown:
                raise doc.error(path, f"placeholder {unknown[0]!r} is not declared; declare it under "
                                      f"'placeholders' or use one of {', '.join(sorted(known))}")
        extra = sorted(set(section) - set(FIELDS) - set(OPTIONAL_FIELDS))
        if extra:
            raise doc.error((locale, extra[0]), f"unknown text {extra[0]!r}; texts are "
                                                f"{', '.join(FIELDS + OPTIONAL_FIELDS)}")
        texts[locale] = compiled
    return Template(tid, version, d.get("purpose"), {str(k): str(v) for k, v in placeholders.items()},
                    texts, str(file))


def load_templates(directory: Path, settings: PackSettings) -> dict[str, Template]:
    out: dict[str, Template] = {}
    for file in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        t = load_template(file, settings)
        if t.id in out:
            raise PackError(file, None, f"template {t.id!r} is also declared in {out[t.id].source_file}")
        out[t.id] = t
    return out


_BULLET = re.compile(r"^\s*[-*] ")
_BLANK_LINE = re.compile(r"\n\s*\n")


_URL = re.compile(r"https?://[^\s<>\"]+?(?=[.,;:!?)]*(?:\s|$))")


def _linked(escaped: str, link_class: str | None) -> str:
    """Web addresses in escaped text as links (a full stop or bracket after one is not part of it)."""
    if "://" not in escaped:  # most lines: no address, no search
        return escaped
    attr = f' class="{link_class}"' if link_class else ""
    return _URL.sub(lambda m: f'<a{attr} href="{m.group(0)}">{m.group(0)}</a>', escaped)


def to_html(text: str, link_class: str | None = None) -> str:
    """Plain template text as simple, accessible HTML: paragraphs, bulleted lists and links for
    web addresses (with ``link_class`` on each link, e.g. ``govuk-link``)."""
    blocks = []
    for block in _BLANK_LINE.split(html.escape(text.strip())):  # escaped once, not line by line
        run: list[str] = []
        bullets: bool | None = None
        for line in block.splitlines() + [None]:  # None closes the last run
            is_bullet = line is not None and bool(_BULLET.match(line))
            if run and (line is None or is_bullet != bullets):
                if bullets:
                    blocks.append("<ul>" + "".join(f"<li>{_linked(_BULLET.sub('', x), link_class)}</li>"
                                                   for x in run) + "</ul>")
                else:
                    blocks.append("<p>" + "<br>".join(_linked(x, link_class) for x in run) + "</p>")
                run = []
            if line is not None:
                run.append(line)
                bullets = is_bullet
    return "\n".join(blocks)
