"""The ``civic`` command, one module per noun. It prints for people by default; ``--json`` prints for machines."""

from __future__ import annotations

from . import (  # noqa: F401
               agreements,
               audit,
               cases,
               consents,
               events,
               households,
               identity,
               insights,
               journeys,
               messages,
               moments,
               officers,
               orgs,
               payments,
               people,
               processes,
               retention,
               rules,
               subscriptions,
)
from .common import main
from .rules import run_sweep

__all__ = ["main", "run_sweep"]
