"""Processes: the server, workers, the database and the demo."""

from __future__ import annotations

import gc
import json
import signal
import threading

import click

from ..engine.worker import ROLES
from . import common
from .common import main
from .payments import daily as payments_daily
from .retention import nightly as retention_nightly
from .rules import run_sweep


def warn_if_not_private(settings) -> None:
    """The data folder holds personal data and keys: say so when others can read it."""
    from ..bootstrap import loose_files

    for line in loose_files(settings):
        click.echo(f"warning: {line}", err=True)


def settle_heap() -> None:
    """What start-up built (modules, the pack, the app) lives as long as the process: take it out
    of the cyclic garbage collector's view (``gc.freeze``), so the full collections that batches
    of journeys set off scan what the batches made, not the whole program each time."""
    gc.collect()
    gc.freeze()


def _exit_on_sigterm(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


@main.command()
@click.option("--host", default=None, help="address to listen on (CIVIC_HOST)")
@click.option("--port", default=None, type=int, help="port (CIVIC_PORT)")
def serve(host: str | None, port: int | None) -> None:
    """Run the API, the engine and the effects in one process."""
    import uvicorn

    from ..api.app import create_app
    from ..web.auth import check_sign_in

    app = common._app(long_running=True)
    if app.settings.portal:
        check_sign_in(app.settings)  # before anything listens: say which settings are missing
    warn_if_not_private(app.settings)
    stop = threading.Event()
    supervisor = app.start_engine()
    settle_heap()
    supervisor.start()
    nats = app.nats_intake().start() if app.settings.nats_url else None  # events in on JetStream too

    def nightly() -> None:
        """The digital-lifetime sweep and retention, once a day."""
        last = None
        while not stop.is_set():
            today = app.clock.now().date()
            if today != last:
                try:
                    run_sweep(app, today, show_progress=False)
                    retention_nightly(app, today)
                    payments_daily(app, today)
                    last = today
                except Exception as exc:  # noqa: BLE001 - keep serving; try again in an hour
                    from ..logs import get

                    get("civic.sweep").error("nightly job failed", error=type(exc).__name__)
            stop.wait(3600)

    threading.Thread(target=nightly, name="sweep", daemon=True).start()
    threading.Thread(target=keep_insights, args=(app, stop), name="insights", daemon=True).start()
    where = {"host": host or app.settings.host, "port": port or app.settings.port, "log_level": "warning"}
    base = f"http://{where['host']}:{where['port']}"
    click.echo(f"API on {base}/v1 (OpenAPI at {base}/openapi.json, health at {base}/healthz)")
    if app.settings.portal:
        click.echo(f"Portal on {app.settings.public_url.rstrip('/')}/ and the staff console on "
                   f"{app.settings.public_url.rstrip('/')}/staff")
    # uvicorn shuts down on SIGTERM (a service manager, ``docker stop``) and then raises the signal
    # again: with the default action the process would die there, before the engine below is
    # stopped and its heartbeat says so (other processes' /healthz would count it running for the
    # stale period). It ends as an exit instead, through ``finally``, with the usual status 143.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if app.settings.web_processes > 1:  # pages and API in several processes; the engine stays here
            import os
            import secrets

            os.environ.setdefault("CIVIC_SESSION_SECRET", secrets.token_urlsafe(32))
            if app.settings.now is not None:  # every process reads the same set clock
                from ..domain.clock import iso

                os.environ["CIVIC_NOW"] = iso(app.clock.now())
            if app.settings.demo_mode and "CIVIC_DEMO_IDP_KEY" not in os.environ:
                from authlib.jose import JsonWebKey

                key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "demo-1"})
                os.environ["CIVIC_DEMO_IDP_KEY"] = json.dumps(key.as_dict(is_private=True))
            # a web process starting on a busy machine is given time to answer before it is replaced
            uvicorn.run("civicmoments.api.asgi:create", factory=True, workers=app.settings.web_processes,
                        timeout_worker_healthcheck=60, **where)
        else:
            from ..api.asgi import settle

            web = create_app(app)
            settle()  # as each of several web processes does
            uvicorn.run(web, **where)
    finally:
        stop.set()
        if nats is not None:
            nats.stop()
        supervisor.stop(timeout=10)


@main.command()
@click.option("--until-idle", is_flag=True, help="work until nothing is waiting, then stop (scripts, one-off runs)")
@click.option("--role", type=click.Choice(ROLES), default="all", show_default=True,
              help="all: the engine, the effects and the messages; engine: all but sending messages; "
                   "sender: only sending messages (a core of its own for email, text and letter batches)")
def worker(until_idle: bool, role: str) -> None:
    """Run the engine, the effects and the messages, without the web server; ``--role`` narrows
    it to all but sending, or to sending only. Many may share one PostgreSQL database, or, on
    one machine, one SQLite file."""
    if until_idle and role != "all":
        raise click.UsageError("--until-idle does all the work there is; leave out --role")
    app = common._app(long_running=True)
    if until_idle:
        app.worker.drain()
        click.echo("nothing left waiting")
        return
    app.worker.role = role
    supervisor = app.start_engine()
    settle_heap()
    nats = None
    if role != "sender":
        # any worker may take intake messages, parts of the daily sweep and the insights refresh
        nats = app.nats_intake().start() if app.settings.nats_url else None
        if app.settings.sweep_partitions > 1:
            threading.Thread(target=daily_sweep, args=(app, supervisor.stopping), name="sweep", daemon=True).start()
        threading.Thread(target=keep_insights, args=(app, supervisor.stopping), name="insights", daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stopping.set())
    supervisor.run()
    if nats is not None:
        nats.stop()


def keep_insights(app, stop: threading.Event) -> None:
    """Keep the insights projection up to date, every ``insights_refresh_seconds``, so a report
    reads it without waiting (several processes share the work on PostgreSQL)."""
    every = app.settings.insights_refresh_seconds
    if not every or app.insights.facts is None:
        return
    while not stop.wait(every):
        try:
            app.insights.refresh()
        except Exception as exc:  # noqa: BLE001 - keep working; a report refreshes what is left
            from ..logs import get

            get("civic.insights").error("insights refresh failed", error=type(exc).__name__)


def daily_sweep(app, stop: threading.Event) -> None:
    """A worker's share of the daily sweep: once a day, the parts no other process has taken."""
    last = None
    while not stop.is_set():
        today = app.clock.now().date()
        if today != last:
            try:
                run_sweep(app, today, show_progress=False)
                last = today
            except Exception as exc:  # noqa: BLE001 - keep working; try again in an hour
                from ..logs import get

                get("civic.sweep").error("sweep failed", error=type(exc).__name__)
        stop.wait(3600)


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (start-up does this too)."""
    common._app()
    click.echo("database is up to date")



@main.command()
@click.option("--serve/--no-serve", default=True, help="leave the platform running afterwards (default)")
def demo(serve: bool) -> None:
    """Run the job-loss moment end to end, with the partners, and print Abe's timeline."""
    from ..demo import run

    run(serve=serve)
