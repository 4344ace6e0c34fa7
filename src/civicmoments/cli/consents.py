"""Consent: give, refuse, withdraw and list."""

from __future__ import annotations

import click

from . import common
from .common import _out, main


@main.group()
def consents() -> None:
    """Consent: give, refuse, withdraw, list."""


def _consent_cmd(name: str, doc: str):
    @consents.command(name)
    @click.argument("person")
    @click.argument("purpose")
    @click.option("--channel", default="api", help="portal, app, letter, phone, in-person or api")
    def command(person: str, purpose: str, channel: str) -> None:
        _out(getattr(common._app().consents, name)(person, purpose, channel))

    command.__doc__ = doc
    return command


_consent_cmd("give", "Record consent given for a purpose; prints the receipt.")
_consent_cmd("refuse", "Record consent refused for a purpose; prints the receipt.")
_consent_cmd("withdraw", "Withdraw consent; later disclosures, queued ones included, are blocked.")


@consents.command("list")
@click.argument("person")
def consents_list(person: str) -> None:
    """A person's consent receipts, oldest first."""
    _out(common._app().consents.receipts(person))
