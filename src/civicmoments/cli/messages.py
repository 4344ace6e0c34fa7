"""Messages: what was sent, preferences and assisted contact."""

from __future__ import annotations

from typing import Any

import click

from ..domain.clock import iso
from . import common
from .common import _out, main


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
    app = common._app()
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
    app = common._app()
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
    from ..domain.messages import Channel, Status

    rows = common._app().messenger.store.in_channel(Channel.ASSISTED, Status.SENDING)
    for r in rows:
        click.echo(f"{r['id']}  person={r['person_id']}  {r['template']}  since {iso(r['updated_at'])}")
    click.echo(f"{len(rows)} open task(s)")


@messages.command("contacted")
@click.argument("message_id")
@click.option("--note", required=True, help="how the person was reached, e.g. 'phoned and explained'")
def messages_contacted(message_id: str, note: str) -> None:
    """Close an assisted-contact task: staff reached the person."""
    _out(common._app().messenger.contacted(message_id, note))
