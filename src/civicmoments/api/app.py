"""The FastAPI application. It holds no state of its own: everything comes from the App."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from .. import __version__
from ..bootstrap import App
from ..domain.organisations import Organisation
from . import cases, events, insights, journeys, messages, people, problems, subscriptions, transit
from .auth import organisation
from .limits import BodyLimit
from .metrics import Health, prometheus_text


def create_app(civic: App) -> FastAPI:
    api = FastAPI(title="Civic Moments", version=__version__, docs_url=None, redoc_url=None,
                  dependencies=[Depends(problems.bounded_json)])
    api.state.civic = civic
    problems.install(api)
    api.include_router(events.router)
    api.include_router(journeys.router)
    api.include_router(people.router)
    api.include_router(messages.router)
    api.include_router(transit.router)
    api.include_router(cases.router)
    api.include_router(insights.router)
    api.include_router(subscriptions.router)

    @api.get("/v1/keys", summary="The platform's public signing key (partner requests, access-log checkpoints)")
    def keys(org: Organisation = Depends(organisation)) -> dict:
        return {"algorithm": "ed25519", "public_key": civic.audit.public_key()}

    from ..web import security
    from ..web.portal import mount

    portal = mount(api, civic)
    if portal is not None:
        from ..web import decisions
        from ..web.staff import mount as mount_staff

        api.include_router(decisions.router(portal))
        if civic.settings.demo_mode or civic.settings.staff_oidc_client_secret is not None:
            mount_staff(api, civic, portal)
        else:  # no client for staff at the identity provider: the console stays off, and says why
            from ..logs import get

            get("civic.staff").warning("staff console off: set CIVIC_STAFF_OIDC_CLIENT_SECRET (and "
                                       "CIVIC_STAFF_OIDC_ISSUER if staff sign in elsewhere) to serve /staff")
    security.install(api, https=civic.settings.public_url.startswith("https://"))

    settings = civic.settings
    # Outermost, so nothing (sessions, authentication, parsing) runs for a body over the limit.
    api.add_middleware(BodyLimit, limit_for=lambda path: settings.max_payload_bytes if path == "/v1/events"
                       else 2 * settings.max_evidence_bytes if path.startswith("/evidence/")
                       else settings.max_body_bytes)

    @api.get("/healthz", summary="Whether the engine runs, and how far behind it is",
             responses={200: {"description": "the engine is running", "model": Health},
                        503: {"description": "the engine is not running", "model": Health}})
    def health() -> JSONResponse:
        report = civic.engine_health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @api.get("/metrics", summary="Prometheus metrics: engine liveness, lag and backlog",
             response_class=PlainTextResponse)
    def metrics() -> Response:
        body, content_type = prometheus_text(civic)
        return Response(body, media_type=content_type)

    problems.document(api)
    return api
