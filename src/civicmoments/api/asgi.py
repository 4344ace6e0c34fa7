"""The API and portal for one web process of several (``CIVIC_WEB_PROCESSES``): the engine
runs in the parent process of `civic serve`, so this one only serves."""

from __future__ import annotations

import gc

from fastapi import FastAPI


def create() -> FastAPI:
    from .. import logs
    from ..bootstrap import build
    from ..settings import Settings
    from .app import create_app

    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    app = create_app(build(settings, migrate=False))
    settle()
    return app


def settle() -> None:
    """Set aside what a web process built before serving (the pack, the rules, routes and templates:
    some 200,000 objects that live as long as the process) from the garbage collector's full
    passes, which otherwise walk all of them and pause every request in the process for a few
    hundred milliseconds on a loaded machine (``gc.freeze``). Objects made afterwards are
    collected as before."""
    gc.collect()
    gc.freeze()
