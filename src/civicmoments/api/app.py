"""The FastAPI application. It holds no state of its own: everything comes from the App."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from .. import __version__
from ..bootstrap import App
from ..domain.organisations import Organisation
from . import cases, events, journeys, messages, people, problems, transit
from .auth import organisation


def create_app(civic: App) -> FastAPI:
    api = FastAPI(title="Civic Moments", version=__version__)
    api.state.civic = civic
    problems.install(api)
    api.include_router(events.router)
    api.include_router(journeys.router)
    api.include_router(people.router)
    api.include_router(messages.router)
    api.include_router(transit.router)
    api.include_router(cases.router)

    @api.get("/v1/keys", summary="The platform's public signing key (partner requests, access-log checkpoints)")
    def keys(org: Organisation = Depends(organisation)) -> dict:
        return {"algorithm": "ed25519", "public_key": civic.audit.public_key()}

    from ..web.portal import mount

    portal = mount(api, civic)
    if portal is not None:
        from ..web import decisions
        from ..web.staff import mount as mount_staff

        api.include_router(decisions.router(portal))
        mount_staff(api, civic, portal)

    @api.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    return api
