"""What every ``civic`` command shares: the group, the app builder, JSON output, error translation."""

from __future__ import annotations

import json
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from ..adapters.crypto import KeyConfigurationError
from ..domain.cases import CaseRuleError
from ..domain.disclosure import DisclosureRefusedError
from ..engine.errors import Problem, SignInConfigurationError
from ..packs import PackError

ONE_SHOT_SQLITE_CACHE_MIB = 2  # SQLite's own default; long-running processes keep CIVIC_SQLITE_CACHE_MIB


def _app(long_running: bool = False, **kwargs: Any):
    """The platform for a command. A long-running process (serve, worker, demo) logs at ``log_level``; a
    one-shot command at ``cli_log_level`` (ERROR), so that a refusal is its one error line and no more."""
    from .. import logs
    from ..bootstrap import build
    from ..settings import Settings

    settings = Settings()
    if not long_running and "sqlite_cache_mib" not in settings.model_fields_set:
        # a one-shot command reads through, and keeps its memory to its batches
        settings = settings.model_copy(update={"sqlite_cache_mib": ONE_SHOT_SQLITE_CACHE_MIB})
    logs.configure(settings.log_level if long_running else settings.cli_log_level, settings.log_json)
    _say_where(settings)
    return build(settings, **kwargs)


def _say_where(settings) -> None:
    """Run from another folder, ``civic`` would quietly start an empty database there (and then
    say a token "is not recognised"): say which database it uses and what to set instead."""
    import os

    if settings.database_url or "CIVIC_DATA_DIR" in os.environ:
        return
    db = (settings.data_dir / "civic.db").resolve()
    if not db.exists():
        click.echo(f"note: no database in {db.parent}; starting a new one there. To use an existing one, run "
                   "civic in the folder that holds its .civic folder, or set CIVIC_DATA_DIR (the folder) or "
                   "CIVIC_DATABASE_URL. The pack comes from CIVIC_PACK_DIR "
                   f"(now {settings.pack_dir}).", err=True)


def _out(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


class CivicGroup(click.Group):
    """Turns the project's named errors into one clear line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Problem as exc:
            raise click.ClickException(f"{exc.title}: {exc.detail}") from None
        except CaseRuleError as exc:
            raise click.ClickException(f"{exc.title}: {exc.detail}") from None
        except PackError as exc:
            raise click.ClickException(str(exc)) from None
        except (DisclosureRefusedError, KeyConfigurationError, SignInConfigurationError) as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise click.ClickException(f"cannot use the database (CIVIC_DATABASE_URL): {reason}") from None
        except ValidationError as exc:
            if exc.title != "Settings":
                raise
            raise click.ClickException(settings_problem(exc)) from None


def settings_problem(exc: ValidationError) -> str:
    """One line naming each environment variable whose value the settings refused, and why."""
    parts = []
    for error in exc.errors():
        name = "CIVIC_" + "_".join(str(part) for part in error["loc"][:1]).upper()
        given = error.get("input")
        parts.append(f"{name}: {error['msg'].lower()}" + (f" (given {given!r})" if isinstance(given, str) else ""))
    return "a setting is not valid: " + "; ".join(parts)


@click.group(cls=CivicGroup)
@click.version_option(package_name="civicmoments")
def main() -> None:
    """Civic Moments: life events in, consented coordinated journeys out."""

