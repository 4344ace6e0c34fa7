"""The staff console: officers sign in as themselves and work cases, at `/staff`.

Server-rendered pages on GOV.UK Frontend with the MOJ Design System's components (header,
sub-navigation, identity bar, sortable table, badges, timeline), one module per page group.
Every page works without JavaScript; every form carries the session's CSRF token, as the
portal's do. Who may do what is the case core's policy: the pages ask it, never decide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ...engine.organisations import organisation_id
from ...logs import get
from ..auth import relying_party, staff_client_secret, staff_issuer_for
from ..portal import CsrfError

log = get("civic.staff")
# The officers `make demo` and the staff tests sign in as: (name, OpenID subject, organisation, roles).
DEMO_OFFICERS = (
    ("Wanda Coach", "demo-work-coach", "employment-department", ("work-coach",)),
    ("Dev Decider", "demo-decision-maker", "employment-department", ("decision-maker",)),
    ("Dana Second", "demo-decision-maker-2", "employment-department", ("decision-maker",)),
    ("Tomos Lead", "demo-team-leader", "employment-department", ("team-leader",)),
    ("Audrey Check", "demo-auditor", "employment-department", ("auditor",)),
    ("Pat Metro", "demo-agency-partner", "metro-transit", ("agency-partner",)),
    ("Polly Policy", "demo-policy", "employment-department", ("policy",)),
    ("Percy Measures", "demo-performance", "employment-department", ("performance",)),
)
NAV = (("/staff/queues", "Queues"), ("/staff/caseload", "My caseload"))
INSIGHTS_NAV = (("/staff/insights", "Insights"),)  # for the roles with the insights action


class SignInNeeded(Exception):
    """No officer in the session: the page sends them to sign in."""


class StaffCsrfError(Exception):
    """A staff form without the session's CSRF token."""


class Console:
    """What every staff page shares: the officer in the session, CSRF, and the layout."""

    def __init__(self, civic, portal) -> None:
        self.civic, self.portal = civic, portal
        s = civic.settings
        self.env = portal.env  # the same Jinja loaders: templates/staff/*, GOV.UK Frontend macros
        self.redirect_uri = f"{s.public_url.rstrip('/')}/staff/auth/callback"
        self.oauth = relying_party(staff_issuer_for(s), s.staff_oidc_client_id, staff_client_secret(s))
        if portal.demo is not None:
            portal.demo.register(s.staff_oidc_client_id, staff_client_secret(s), self.redirect_uri,
                                 self.demo_officers)

    # -- officers ------------------------------------------------------------------------
    @property
    def officers(self):
        """The case core's officer directory."""
        return self.civic.officers

    def demo_officers(self) -> list[dict[str, str]]:
        """The accounts the demo provider lists for the staff client: every officer, by name and role."""
        return [{"id": o.subject, "name": f"{o.name} ({self.role_names(o)}, {self.organisation_name(o)})"}
                for o in self.officers.list()]

    def role_names(self, officer) -> str:
        return ", ".join(r.replace("-", " ").capitalize() for r in officer.roles)

    @staticmethod
    def organisation_name(officer_or_queue) -> str:
        """An organisation as people read it: `employment-department` is "Employment department"."""
        return officer_or_queue.organisation.replace("-", " ").capitalize()

    def officer(self, request: Request):
        """The signed-in officer, or None (also when the officer has since been removed)."""
        officer_id = request.session.get("officer")
        if not officer_id:
            return None
        cached = getattr(request.state, "officer", None)  # read once a request: the check and the page
        if cached is not None and cached.id == officer_id:
            return cached
        request.state.officer = self.officers.store.officer(id=officer_id)
        return request.state.officer

    def officer_name(self, officer_id: str | None) -> str:
        if officer_id is None:
            return self.civic.settings.service_name
        found = self.officers.store.officer(id=officer_id)
        return found.name if found else officer_id

    def signed_in(self, request: Request):
        officer = self.officer(request)
        if officer is None:
            raise SignInNeeded()
        return officer

    def read_person(self, officer, person: str, queue: str, attributes=None) -> dict:
        """A staff read of a person's data: the policy must let the officer `view-person` on the
        queue the read is for; the privacy gate logs it as that officer, their role and the queue's
        purpose, so the person sees it in "Who saw my data". Returns {attribute: Fact}, sensitive
        values masked. An officer whose role ``sees: agreement`` (a partner agency's) gets only what
        the gate discloses to their organisation under its agreement for that purpose. Raises
        NotPermittedError (403), DisclosureRefusedError (no agreement or no consent)."""
        cases = self.civic.cases
        cases.permit(officer, "view-person", queue)
        role = cases.policy.role_for(officer, "view-person", queue)
        if role.sees == "agreement":  # a partner agency's officer: only what its agreement discloses
            return self.civic.gate.partner_view(officer, role.id, self.organisation_id(officer.organisation), person,
                                                cases.queue(queue).purpose, attributes)
        return self.civic.gate.staff_view(officer, role.id, person, cases.queue(queue).purpose, attributes)

    def organisation_id(self, slug: str) -> str:
        """The registered organisation an officer's organisation slug names (its agreements are its)."""
        return organisation_id(self.civic.store.organisations(), slug)

    def sees_all(self, officer, queue: str) -> bool:
        """Whether the officer's role on this queue sees the whole single view (journeys, messages,
        consents, access log), or only what an agreement discloses."""
        role = self.civic.cases.policy.role_for(officer, "view-person", queue)
        return role is not None and role.sees == "all"

    # -- forms and pages -------------------------------------------------------------------
    async def form(self, request: Request) -> dict[str, str]:
        """The posted fields, once the CSRF token matches the session's (the portal's check)."""
        try:
            return await self.portal.form(request)
        except CsrfError as exc:
            raise StaffCsrfError() from exc

    def refused(self, request: Request, exc) -> HTMLResponse:
        """A refusal by the case core (403 outside the officer's queues, 404, 409, 422) as a page."""
        titles = {403: "You cannot do this", 404: "Not found", 409: "The case has changed", 422: "Check what you sent"}
        return self.page(request, "error.html", status=exc.status, title=titles.get(exc.status, exc.title),
                         message=exc.detail)

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        officer = self.officer(request)
        shown = None
        if officer is not None:
            shown = {"id": officer.id, "name": officer.name, "role_names": self.role_names(officer),
                     "organisation_name": self.organisation_name(officer), "roles": list(officer.roles)}
        html = self.env.get_template(f"staff/{template}").render(
            officer=shown, nav=NAV + (INSIGHTS_NAV if officer and self.civic.pack.policy.sees_insights(officer)
                                      else ()), path=request.url.path, csrf_token=self.portal.csrf(request),
            cspNonce=getattr(request.state, "csp_nonce", None),  # GOV.UK Frontend's one inline script
            service_name=self.civic.settings.service_name, demo=self.civic.settings.demo_mode,
            queue_titles={q.id: q.title for q in self.civic.cases.queues.values()}, **context)
        return HTMLResponse(html, status_code=status)


def mount(api: FastAPI, civic, portal) -> Console:
    """Add the staff console to the app (after the portal, whose sessions and assets it shares)."""
    from . import assisted, cases, insights, people, queues, signin

    console = Console(civic, portal)
    moj = Path(civic.settings.moj_assets_dir)
    if moj.is_dir():
        api.mount("/staff/moj", StaticFiles(directory=moj), name="moj")
    else:
        log.warning("MOJ Frontend is not installed: run npm ci", looked_in=str(moj))
    for pages in (signin, queues, cases, people, assisted, insights):
        api.include_router(pages.router(console))

    @api.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse("/staff", status_code=303)

    @api.exception_handler(StaffCsrfError)
    async def _csrf(request: Request, exc: StaffCsrfError) -> Response:
        return console.page(request, "error.html", status=400, title="The form expired",
                            message="The form expired. Go back, reload the page and try again.")

    return console
