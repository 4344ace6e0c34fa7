"""The FastAPI application. It holds no state of its own: everything comes from the App."""

from __future__ import annotations

from fastapi import FastAPI

from .. import __version__
from ..bootstrap import App
from . import events, journeys, messages, people, problems


def create_app(civic: App) -> FastAPI:
    api = FastAPI(title="Civic Moments", version=__version__)
    api.state.civic = civic
    problems.install(api)
    api.include_router(events.router)
    api.include_router(journeys.router)
    api.include_router(people.router)
    api.include_router(messages.router)

    @api.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    return api
