"""Structured logs. They carry ids (journey, event, effect), never personal data."""

from __future__ import annotations

import logging
import sys

import structlog


class WithholdDatabaseValues(logging.Filter):
    """A database error's text can quote the values of the row (PostgreSQL's DETAIL, a driver's
    message): a record carrying one keeps only the error's class."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and _from_database(exc):
            record.msg = f"{record.getMessage()} [{type(exc).__module__}.{type(exc).__name__}; values withheld]"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def _from_database(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        module = type(exc).__module__
        if module.startswith(("sqlalchemy", "psycopg", "sqlite3")):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured: a
    command run inside another program (a test's runner, an embedding app) that swaps the stream
    and closes it afterwards must not leave the logs writing into the closed one."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO", json: bool = True) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    for name in ("", "uvicorn.error", "sqlalchemy"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdDatabaseValues) for f in logger.filters):
            logger.addFilter(WithholdDatabaseValues())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),
        cache_logger_on_first_use=True,
    )


def get(name: str):
    return structlog.get_logger(name)
