"""Subscriptions: organisations told of events under their agreements."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from ..domain.clock import iso
from . import common
from .common import _out, main


@main.group()
def subscriptions() -> None:
    """Organisations' subscriptions to events (webhooks, or NATS JetStream)."""


def _line(s, counts: dict[str, int]) -> str:
    told = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing yet"
    return f"{s.id}  {s.protocol:<4} {','.join(s.types)} -> {s.sink}  (agreement {s.agreement}; {told})"


@subscriptions.command("list")
@click.option("--org", "org_name", default=None, help="only this organisation's")
@click.option("--json", "as_json", is_flag=True)
def subscriptions_list(org_name: str | None, as_json: bool) -> None:
    """List subscriptions in force, with how many deliveries each has made, by status."""
    app = common._app()
    org = app.organisations.named(org_name) if org_name else None
    subs = app.subscriptions.list(org)
    if as_json:
        _out([{**s.as_dict(), "deliveries": app.subscriptions.counts(s.id)} for s in subs])
        return
    if not subs:
        click.echo("no subscriptions" + (f" for {org_name}" if org_name else ""))
    for s in subs:
        click.echo(_line(s, app.subscriptions.counts(s.id)))


@subscriptions.command("add")
@click.option("--org", "org_name", required=True, help="the subscribing organisation's name")
@click.option("--type", "types", multiple=True, required=True, help="an event type or pattern; repeatable")
@click.option("--agreement", required=True, help="the data-sharing agreement it relies on")
@click.option("--sink", default="", help="the https URL events are posted to")
@click.option("--protocol", type=click.Choice(["HTTP", "NATS"]), default="HTTP")
@click.option("--source-prefix", default="")
@click.option("--subject-prefix", default="")
@click.option("--json", "as_json", is_flag=True)
def subscriptions_add(org_name: str, types: tuple[str, ...], agreement: str, sink: str, protocol: str,
                      source_prefix: str, subject_prefix: str, as_json: bool) -> None:
    """Subscribe an organisation to events, checked against its agreement."""
    app = common._app()
    s = app.subscriptions.create(app.organisations.named(org_name), list(types), agreement, sink, protocol,
                                 source_prefix, subject_prefix)
    if as_json:
        _out(s.as_dict())
    else:
        click.echo(f"subscribed {org_name}: {s.id}\n{_line(s, {})}")


@subscriptions.command("remove")
@click.argument("subscription_id")
def subscriptions_remove(subscription_id: str) -> None:
    """Stop a subscription; its pending deliveries are cancelled."""
    common._app().subscriptions.delete(subscription_id)
    click.echo(f"removed {subscription_id}")


@subscriptions.command("replay")
@click.argument("subscription_id")
@click.option("--since", required=True, help="ISO 8601 time; events from then are delivered again (UTC if no offset)")
def subscriptions_replay(subscription_id: str, since: str) -> None:
    """Deliver again every matching event from a point in time."""
    try:
        at = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{since!r} is not an ISO 8601 time, such as 2026-11-30T09:00:00Z",
                                 param_hint="--since") from None
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    n = common._app().subscriptions.replay(subscription_id, at.astimezone(timezone.utc))
    click.echo(f"queued {n} event{'s' if n != 1 else ''} from {iso(at)} for {subscription_id}")


@subscriptions.command("dead-letters")
@click.argument("subscription_id")
def subscriptions_dead(subscription_id: str) -> None:
    """Deliveries that failed for good, with the subscriber's answer."""
    rows = common._app().subscriptions.dead_letters(subscription_id)
    if not rows:
        click.echo("no dead letters")
    for r in rows:
        click.echo(f"{r['event_id']}  {r['type']}  after {r['attempts']} attempts: {r['last_error']}")
