"""The ``civic`` command. It prints for people by default; ``--json`` prints for machines."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from .adapters.crypto import KeyConfigurationError
from .domain.clock import InvalidDurationError, iso, parse_duration
from .domain.disclosure import DisclosureRefusedError
from .engine.errors import Problem
from .packs import PackError


def _app(**kwargs: Any):
    from . import logs
    from .bootstrap import build
    from .settings import Settings

    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    return build(settings, **kwargs)


def _out(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


class CivicGroup(click.Group):
    """Turns the project's named errors into one clear line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Problem as exc:
            raise click.ClickException(f"{exc.title}: {exc.detail}") from None
        except PackError as exc:
            raise click.ClickException(str(exc)) from None
        except (DisclosureRefusedError, KeyConfigurationError) as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise click.ClickException(f"cannot use the database (CIVIC_DATABASE_URL): {reason}") from None


@click.group(cls=CivicGroup)
@click.version_option(package_name="civicmoments")
def main() -> None:
    """Civic Moments: life events in, consented coordinated journeys out."""


# -- processes -------------------------------------------------------------------------
@main.command()
@click.option("--host", default=None, help="address to listen on (CIVIC_HOST)")
@click.option("--port", default=None, type=int, help="port (CIVIC_PORT)")
def serve(host: str | None, port: int | None) -> None:
    """Run the API, the engine and the effects in one process."""
    import uvicorn

    from .api.app import create_app

    app = _app()
    stop = threading.Event()
    thread = threading.Thread(target=app.worker.run, args=(stop.is_set,), name="engine", daemon=True)
    thread.start()

    def nightly() -> None:
        """The digital-lifetime sweep, once a day."""
        last = None
        while not stop.is_set():
            today = app.clock.now().date()
            if today != last:
                try:
                    run_sweep(app, today, show_progress=False)
                    last = today
                except Exception as exc:  # noqa: BLE001 - keep serving; try again in an hour
                    from .logs import get

                    get("civic.sweep").error("sweep failed", error=str(exc)[:300])
            stop.wait(3600)

    threading.Thread(target=nightly, name="sweep", daemon=True).start()
    where = {"host": host or app.settings.host, "port": port or app.settings.port, "log_level": "warning"}
    try:
        if app.settings.web_processes > 1:  # pages and API in several processes; the engine stays here
            import os
            import secrets

            os.environ.setdefault("CIVIC_SESSION_SECRET", secrets.token_urlsafe(32))
            if app.settings.demo_mode and "CIVIC_DEMO_IDP_KEY" not in os.environ:
                from authlib.jose import JsonWebKey

                key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "demo-1"})
                os.environ["CIVIC_DEMO_IDP_KEY"] = json.dumps(key.as_dict(is_private=True))
            uvicorn.run("civicmoments.api.asgi:create", factory=True, workers=app.settings.web_processes, **where)
        else:
            uvicorn.run(create_app(app), **where)
    finally:
        stop.set()
        thread.join(timeout=10)


@main.command()
def worker() -> None:
    """Run only the engine and the effects (many may share one PostgreSQL database)."""
    app = _app()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app.worker.run(stop.is_set)


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (start-up does this too)."""
    _app()
    click.echo("database is up to date")


# -- organisations -----------------------------------------------------------------------
@main.group()
def orgs() -> None:
    """Organisations and their credentials."""


def _lifetime(expires: str | None):
    try:
        return parse_duration(expires) if expires else None
    except InvalidDurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from None


@orgs.command("add")
@click.argument("name")
@click.option("--source", "sources", multiple=True, required=True,
              help="a CloudEvents source it owns (a trailing * matches a prefix); repeatable")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="an event type it may send (glob), or a permission such as journeys:read; repeatable")
@click.option("--expires", default=None, help="token lifetime as an ISO 8601 duration, e.g. P90D")
@click.option("--json", "as_json", is_flag=True)
def orgs_add(name: str, sources: tuple[str, ...], scopes: tuple[str, ...], expires: str | None,
             as_json: bool) -> None:
    """Register an organisation and print its bearer token (shown only once)."""
    org, token = _app().organisations.add(name, list(sources), list(scopes), _lifetime(expires))
    if as_json:
        _out({"id": org.id, "name": org.name, "token": token})
    else:
        click.echo(f"added {org.name} ({org.id})\ntoken (keep it secret; it is not shown again):\n{token}")


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True)
def orgs_list(as_json: bool) -> None:
    """List organisations."""
    rows = _app().organisations.list()
    if as_json:
        _out(rows)
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        click.echo(f"{r['name']:<30} {state:<8} sources={','.join(r['sources'])} scopes={','.join(r['scopes'])}")


@orgs.command("revoke")
@click.argument("name")
def orgs_revoke(name: str) -> None:
    """Revoke an organisation and every token it holds."""
    _app().organisations.revoke(name)
    click.echo(f"revoked {name}: its tokens no longer work")


@orgs.command("token")
@click.argument("name")
@click.option("--expires", default=None, help="token lifetime, e.g. P90D")
def orgs_token(name: str, expires: str | None) -> None:
    """Issue another token for an organisation (for rotation)."""
    click.echo(_app().organisations.new_token(name, _lifetime(expires)))


# -- events --------------------------------------------------------------------------------
@main.group()
def events() -> None:
    """Send events, and look after the ones that failed."""


def read_events(path: Path, type_name: str | None, source: str | None, app) -> list[Any]:
    from .engine.csv_intake import rows_to_events
    from .engine.errors import MalformedJsonError, UnknownEventTypeError

    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        event_type = app.pack.event_types.get(type_name or "")
        if event_type is None:
            raise UnknownEventTypeError(f"a CSV file needs --type naming a registered event type; got {type_name!r}")
        if not source:
            raise click.UsageError("a CSV file needs --source (the CloudEvents source of its rows)")
        return rows_to_events(event_type, text, source)
    stripped = text.strip()
    try:
        if path.suffix.lower() == ".jsonl":
            return [json.loads(line) for line in stripped.splitlines() if line.strip()]
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    return data if isinstance(data, list) else [data]


@events.command("send")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True, help="the sending organisation")
@click.option("--type", "type_name", default=None, help="event type of a CSV file's rows")
@click.option("--source", default=None, help="CloudEvents source of a CSV file's rows")
@click.option("--json", "as_json", is_flag=True)
def events_send(file: Path, org_name: str, type_name: str | None, source: str | None, as_json: bool) -> None:
    """Send events from a JSON, JSONL or CSV file, as an organisation."""
    from .domain.organisations import Organisation
    from .engine.errors import NotFoundError

    app = _app()
    row = app.store.organisation(org_name)
    if row is None:
        raise NotFoundError(f"no organisation named {org_name!r}; add it with 'civic orgs add'")
    if row["revoked_at"] is not None:
        raise click.ClickException(f"organisation {org_name!r} is revoked")
    org = Organisation(row["id"], row["name"], tuple(row["sources"]), tuple(row["scopes"]))
    raws = read_events(file, type_name, source, app)
    receipts = []
    with click.progressbar(length=len(raws), label="sending", file=sys.stderr,
                           hidden=len(raws) < 1000) as bar:
        for start in range(0, len(raws), 1000):
            part = app.intake.submit(org, raws[start : start + 1000])
            receipts.extend(r.__class__(r.index + start, r.id, r.source, r.status, r.problem) for r in part)
            bar.update(len(part))
    if as_json:
        _out([r.as_dict() for r in receipts])
    else:
        counts: dict[str, int] = {}
        for r in receipts:
            counts[r.status] = counts.get(r.status, 0) + 1
            if r.problem is not None:
                click.echo(f"event {r.index} ({r.id}): {r.problem.title}: {r.problem.detail}", err=True)
        click.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if any(r.status == "rejected" for r in receipts):
        sys.exit(1)


@events.command("quarantine")
@click.option("--json", "as_json", is_flag=True)
def events_quarantine(as_json: bool) -> None:
    """List events that failed in processing, with the reason."""
    rows = _app().store.quarantined()
    if as_json:
        _out(rows)
        return
    if not rows:
        click.echo("quarantine is empty")
    for r in rows:
        click.echo(f"#{r['seq']} {r['type']} {r['source']} {r['event_id']}\n    {r['error']}")


@events.command("replay")
@click.argument("seqs", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="replay every quarantined event")
def events_replay(seqs: tuple[int, ...], everything: bool) -> None:
    """Put quarantined events back in the inbox (by their #number, or --all)."""
    if not seqs and not everything:
        raise click.UsageError("name the events to replay by number, or pass --all")
    n = _app().store.replay(None if everything else list(seqs))
    click.echo(f"{n} event(s) back in the inbox")


@events.command("dead-letters")
@click.option("--json", "as_json", is_flag=True)
def events_dead_letters(as_json: bool) -> None:
    """List effects that were given up on."""
    rows = _app().store.dead_letters()
    if as_json:
        _out(rows)
        return
    if not rows:
        click.echo("no dead letters")
    for r in rows:
        click.echo(f"{r['key']} ({r['kind']}, {r['attempts']} attempts): {r['last_error']}")


# -- moments and journeys --------------------------------------------------------------------
@main.group()
def moments() -> None:
    """Moment definitions."""


@moments.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--events", "events_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="event schemas to check names against (default: the pack's)")
def moments_check(directory: Path, events_dir: Path | None) -> None:
    """Validate every moment in DIRECTORY; errors give the file and the line."""
    from .domain.events import ENGINE_EVENT_TYPES
    from .packs.event_types import load_event_types
    from .packs.moments import load_moments
    from .settings import Settings

    events_dir = events_dir or (directory.parent / "events")
    if not events_dir.is_dir():
        events_dir = Settings().pack_dir / "events"
    known = set(load_event_types(events_dir)) | ENGINE_EVENT_TYPES
    found = load_moments(directory, known)
    for m in found.values():
        click.echo(f"ok  {m.id:<24} {len(m.steps)} steps  ({m.source_file})")
    click.echo(f"{len(found)} moment(s) valid")


@main.group()
def messages() -> None:
    """Messages to people: statuses, channel history, preferences, letters and staff tasks."""


def print_messages(found: list[dict[str, Any]], with_content: bool) -> None:
    if not found:
        click.echo("no messages")
    for m in found:
        click.echo(f"{m['id']}  {m['template']} v{m['version']} ({m['locale']})  {m['status']} on {m['channel']}"
                   f"  chain: {' > '.join(m['chain'])}")
        if with_content:
            click.echo(f"    subject: {m['content']['subject']}")
        for h in m["history"]:
            by = f" via {h['provider']}" if h["provider"] else ""
            click.echo(f"    {iso(h['at'])}  {h['channel']:<8} {h['status']:<18}{by}  {h['detail']}")


@messages.command("show")
@click.argument("person")
@click.option("--content", is_flag=True, help="also show each message's subject (personal data)")
@click.option("--json", "as_json", is_flag=True)
def messages_show(person: str, content: bool, as_json: bool) -> None:
    """List a person's messages with their statuses and channel history."""
    app = _app()
    app.registry.require(person)
    found = app.messenger.of_person(person, reveal=content)
    if as_json:
        _out(found)
    else:
        print_messages(found, content)


@messages.command("preferences")
@click.argument("person")
@click.option("--channels", default=None, help="most preferred first, e.g. email,sms (inbox, sms, email, letter)")
@click.option("--language", default=None, help="a locale of the pack, e.g. en or cy")
@click.option("--large-print/--no-large-print", default=None)
@click.option("--easy-read/--no-easy-read", default=None)
@click.option("--quiet-hours", default=None, help="e.g. 21:00-08:00; 'none' to clear")
@click.option("--offline/--online", default=None, help="not online: skip the inbox and email")
def messages_preferences(person: str, channels: str | None, language: str | None, large_print: bool | None,
                         easy_read: bool | None, quiet_hours: str | None, offline: bool | None) -> None:
    """Show a person's message preferences, or change the ones given."""
    app = _app()
    app.registry.require(person)
    current = app.messenger.preferences(person).as_dict()
    changes = {"channels": [c.strip() for c in channels.split(",") if c.strip()] if channels is not None else None,
               "language": language, "large_print": large_print, "easy_read": easy_read,
               "quiet_hours": None if quiet_hours in (None, "none") else quiet_hours, "offline": offline}
    changed = {k: v for k, v in changes.items() if v is not None}
    if quiet_hours == "none":
        changed["quiet_hours"] = None
    if changed:
        current = app.messenger.set_preferences(person, {**current, **changed}).as_dict()
    _out(current)


@messages.command("assisted")
def messages_assisted() -> None:
    """Messages no channel could deliver: tasks for staff to make contact."""
    from .domain.messages import Channel, Status

    rows = _app().messenger.store.in_channel(Channel.ASSISTED, Status.SENDING)
    for r in rows:
        click.echo(f"{r['id']}  person={r['person_id']}  {r['template']}  since {iso(r['updated_at'])}")
    click.echo(f"{len(rows)} open task(s)")


@messages.command("contacted")
@click.argument("message_id")
@click.option("--note", required=True, help="how the person was reached, e.g. 'phoned and explained'")
def messages_contacted(message_id: str, note: str) -> None:
    """Close an assisted-contact task: staff reached the person."""
    _out(_app().messenger.contacted(message_id, note))


@main.group()
def journeys() -> None:
    """Journeys: runs of moments for people."""


def print_journey(found: dict[str, Any]) -> None:
    j = found["journey"]
    click.echo(f"journey {j.id}  moment={j.moment}  person={j.person}  status={j.status.value}")
    for t in found["timeline"]:
        detail = ", ".join(f"{k}={v}" for k, v in t["detail"].items())
        step = f"[{t['step']}] " if t["step"] else ""
        click.echo(f"  {iso(t['at'])}  {t['kind']:<22} {step}{detail}")


@journeys.command("show")
@click.argument("journey_id")
@click.option("--json", "as_json", is_flag=True)
def journeys_show(journey_id: str, as_json: bool) -> None:
    """Show a journey's timeline."""
    from .api.journeys import journey_view
    from .engine.errors import NotFoundError

    found = _app().store.journey(journey_id)
    if found is None:
        raise NotFoundError(f"no journey {journey_id!r}")
    if as_json:
        _out(journey_view(found))
    else:
        print_journey(found)


@journeys.command("list")
@click.option("--person", default=None)
@click.option("--json", "as_json", is_flag=True)
def journeys_list(person: str | None, as_json: bool) -> None:
    """List journeys."""
    rows = _app().store.journeys_for(person)
    if as_json:
        _out([{"id": j.id, "moment": j.moment, "person": j.person, "status": j.status.value} for j in rows])
        return
    for j in rows:
        click.echo(f"{j.id}  {j.moment:<20} {j.person:<20} {j.status.value}")


@journeys.command("cancel")
@click.argument("journey_id")
@click.option("--reason", required=True)
def journeys_cancel(journey_id: str, reason: str) -> None:
    """Cancel a journey: its pending steps and effects are cancelled too."""
    from .engine.errors import NotFoundError

    app = _app()
    if not app.store.request_cancel(journey_id, reason, app.clock.now()):
        raise NotFoundError(f"no journey {journey_id!r}")
    click.echo(f"cancellation of {journey_id} queued")


# -- people, consent, agreements, audit -----------------------------------------------------
@main.group()
def people() -> None:
    """People in the registry."""


@people.command("add")
@click.option("--id", "identifiers", multiple=True, help="scheme=value, e.g. ni_number=QQ123456C; repeatable")
def people_add(identifiers: tuple[str, ...]) -> None:
    """Register a person and print their id."""
    ids = dict(i.split("=", 1) for i in identifiers if "=" in i)
    if len(ids) != len(identifiers):
        raise click.BadParameter("write identifiers as scheme=value", param_hint="--id")
    click.echo(_app().registry.add_person(ids))


@people.command("show")
@click.argument("person")
@click.option("--json", "as_json", is_flag=True)
def people_show(person: str, as_json: bool) -> None:
    """A person's profile: the best fact per attribute, with source and tier."""
    app = _app()
    prof = app.registry.profile(person)
    if as_json:
        _out({a: {"value": f.value, "tier": f.tier.value, "source": f.source} for a, f in prof.items()})
        return
    for a, f in sorted(prof.items()):
        click.echo(f"{a:<28} {str(f.value):<30} {f.tier.value:<7} {f.basis.value:<9} {f.source}")


@people.command("export")
@click.argument("person")
def people_export(person: str) -> None:
    """Everything held about a person, as JSON (right of access)."""
    from .api.people import person_export

    _out(person_export(_app(), person))


@main.group()
def consents() -> None:
    """Consent: give, refuse, withdraw, list."""


def _consent_cmd(name: str, doc: str):
    @consents.command(name)
    @click.argument("person")
    @click.argument("purpose")
    @click.option("--channel", default="api", help="portal, app, letter, phone, in-person or api")
    def command(person: str, purpose: str, channel: str) -> None:
        _out(getattr(_app().consents, name)(person, purpose, channel))

    command.__doc__ = doc
    return command


_consent_cmd("give", "Record consent given for a purpose; prints the receipt.")
_consent_cmd("refuse", "Record consent refused for a purpose; prints the receipt.")
_consent_cmd("withdraw", "Withdraw consent; later disclosures, queued ones included, are blocked.")


@consents.command("list")
@click.argument("person")
def consents_list(person: str) -> None:
    """A person's consent receipts, oldest first."""
    _out(_app().consents.receipts(person))


@main.group()
def agreements() -> None:
    """Data-sharing agreements."""


@agreements.command("put")
@click.argument("agreement_id")
@click.option("--recipient", required=True, help="the receiving organisation's name")
@click.option("--purpose", required=True)
@click.option("--attribute", "attributes", multiple=True, help="an attribute it may receive; repeatable")
@click.option("--check", "checks", multiple=True, help="a yes/no check it may ask; repeatable")
@click.option("--mode", type=click.Choice(["identified", "pseudonymised"]), default="pseudonymised")
@click.option("--retention-days", type=int, default=90)
def agreements_put(agreement_id: str, recipient: str, purpose: str, attributes: tuple[str, ...],
                   checks: tuple[str, ...], mode: str, retention_days: int) -> None:
    """Create an agreement, or its next version."""
    a = _app().agreements.put(agreement_id, recipient, purpose, list(attributes), mode, retention_days,
                              list(checks))
    click.echo(f"agreement {a.id} v{a.version}: {purpose}, {len(a.attributes)} attributes, {a.mode.value}")


@agreements.command("revoke")
@click.argument("agreement_id")
def agreements_revoke(agreement_id: str) -> None:
    """Revoke an agreement: nothing more is shared under it."""
    _app().agreements.revoke(agreement_id)
    click.echo(f"revoked {agreement_id}")


@main.group()
def audit() -> None:
    """The access log."""


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the head of the access log (Ed25519)."""
    done = _app().audit.checkpoint()
    click.echo("the log is empty" if done is None else f"signed checkpoint at entry {done[0]}: {done[1]}")


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain and the last signed checkpoint; say what is wrong and where."""
    report = _app().audit.verify()
    where = f", last checkpoint at entry {report.checkpoint}" if report.checkpoint else ", no checkpoint yet"
    if report.intact:
        click.echo(f"intact: {report.entries} entries{where}")
        return
    click.echo(f"TAMPERED: {len(report.problems)} problem(s) in {report.entries} entries{where}", err=True)
    for p in report.problems:
        click.echo(f"  - {p}", err=True)
    sys.exit(1)


# -- rules, services and the digital lifetime -----------------------------------------------
def _day(value: str | None):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None


@main.command()
@click.argument("person")
@click.argument("service")
@click.option("--on", "on", default=None, help="the day to decide for (default: today)")
@click.option("--json", "as_json", is_flag=True)
def explain(person: str, service: str, on: str | None, as_json: bool) -> None:
    """Decide a service for a person and explain the decision, with the law behind it."""
    app = _app()
    decision = app.services.explain(person, service, _day(on) or app.clock.now().date())
    if as_json:
        _out(decision.as_dict())
        return
    click.echo(f"{service} for {person} on {decision.on}: {decision.status}"
               + (" (adverse: a person must review it before it is final)" if decision.adverse else ""))
    for k, v in decision.outputs.items():
        click.echo(f"  {k} = {v}")
    for i in decision.inputs:
        click.echo(f"  input {i['attribute']} = {i['value']} ({i['tier']}, from {i['source']})")
    for a in decision.ask:
        click.echo(f"  ask for {a['attribute']}: {a['why']}")
    click.echo(decision.explanation)


def run_sweep(app, until, since=None, show_progress: bool = True) -> dict:
    from .engine.sweep import Sweeper

    sweeper = Sweeper(app.rules, app.services.catalogue, app.registry.store, app.store)
    total = app.registry.store.count_people()
    with click.progressbar(length=max(total, 1), label="sweeping", file=sys.stderr,
                           hidden=not show_progress) as bar:
        done = [0]

        def progress(n: int, _total: int) -> None:
            bar.update(n - done[0])
            done[0] = n

        return sweeper.run(until, since, progress=progress)


@main.command()
@click.option("--date", "on", default=None, help="sweep up to this day (default: today)")
@click.option("--since", default=None, help="count milestones after this day (default: the day before)")
@click.option("--json", "as_json", is_flag=True)
def sweep(on: str | None, since: str | None, as_json: bool) -> None:
    """Find milestones crossed and eligibility changed, for everyone, and send them as events."""
    app = _app()
    result = run_sweep(app, _day(on) or app.clock.now().date(), _day(since), show_progress=not as_json)
    if as_json:
        _out(result)
    else:
        click.echo(f"{result['people']} people: {result['milestones']} milestone event(s), "
                   f"{result['eligibility']} eligibility change(s)")


@main.command()
@click.option("--serve/--no-serve", default=True, help="leave the platform running afterwards (default)")
def demo(serve: bool) -> None:
    """Run the job-loss moment end to end, with the partners, and print Abe's timeline."""
    from .demo import run

    run(serve=serve)


if __name__ == "__main__":
    main()
