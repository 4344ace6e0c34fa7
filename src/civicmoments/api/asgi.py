"""The API and portal for one web process of several (``CIVIC_WEB_PROCESSES``): the engine
runs in the parent process of `civic serve`, so this one only serves."""

from __future__ import annotations

from fastapi import FastAPI


def create() -> FastAPI:
    from .. import logs
    from ..bootstrap import build
    from ..settings import Settings
    from .app import create_app

    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    return create_app(build(settings, migrate=False))
