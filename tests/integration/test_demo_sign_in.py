"""The demo sign-in lists the story's people first, so "choose Abe" works however many came before."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from civicmoments.api.app import create_app

from ..conftest import make_app


def test_the_demo_sign_in_lists_abe_first(db_url, clock):
    first = make_app(db_url, clock)
    hmrc, _ = first.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    for n in range(14):  # more people than the page lists, all registered before Abe
        p = first.registry.add_person()
        first.registry.record(hmrc, p, [{"attribute": "given_name", "value": f"Person{n}"},
                                        {"attribute": "family_name", "value": "Booth"}])
    abe = first.registry.add_person()
    first.registry.record(hmrc, abe, [{"attribute": "given_name", "value": "Abe"},
                                      {"attribute": "family_name", "value": "Ashworth"}])
    first.store.close()
    app = make_app(db_url, clock, settings={"demo_mode": True, "demo_featured": [abe], "session_secret": "s" * 32})
    try:
        with TestClient(create_app(app)) as client:
            page = client.get("/demo-idp/authorize", params={  # as the portal's client asks, with PKCE
                "client_id": "civic-portal", "redirect_uri": f"{app.settings.public_url}/auth/callback",
                "code_challenge": "x" * 43, "code_challenge_method": "S256"})
            names = re.findall(r'data-module="govuk-button">([^<]+)</button>', page.text)
            subs = re.findall(r'name="sub" value="([^"]+)"', page.text)
        assert names[0] == "Abe Ashworth" and subs[0] == abe
        assert len(names) == 12 and names.count("Abe Ashworth") == 1
    finally:
        app.store.close()


def test_the_demo_tells_you_to_choose_abe_and_lists_him_first():
    import inspect

    from civicmoments import demo

    source = inspect.getsource(demo)
    assert "choose 'Abe Ashworth' (listed first)" in source
    assert 'env["CIVIC_DEMO_FEATURED"] = json.dumps([abe])' in source


def test_the_demo_town_can_be_found_by_identity_review(db_url, clock):
    """The README's `civic identity review --given-name Abe --date-of-birth 1981-03-14` scores a record
    against the registry: on the demo's town it must find Abe, as it would anyone recorded one by one."""
    from civicmoments.demo import seed_town

    app = make_app(db_url, clock)
    try:
        abe, _ = seed_town(app, 60, "welder", ["welder", "fitter"])
        found = app.resolver.resolve({"given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1981-03-14",
                                      "postcode": "LS1 4AP"})
        assert (found.method, found.person) == ("match", abe)
    finally:
        app.store.close()


def test_the_demo_gives_the_partners_their_tokens_in_the_environment_not_on_the_command_line():
    from civicmoments.demo import partner_commands

    tokens = {"JobMatch": "cm_jm_secret", "Metro Transit": "cm_metro_secret"}
    started = partner_commands("http://127.0.0.1:8080", 9101, 9102, tokens, {"PATH": "/usr/bin"})
    assert [name for name, _, _ in started] == ["jobmatch", "transit"]
    for _, argv, _env in started:
        assert not any("secret" in a for a in argv) and "--token" not in argv
    assert started[0][2]["JOBMATCH_TOKEN"] == "cm_jm_secret" and started[1][2]["TRANSIT_TOKEN"] == "cm_metro_secret"
    assert "JOBMATCH_NOW" not in started[0][2]  # without a start, the partners keep the wall clock
    timed = partner_commands("http://127.0.0.1:8080", 9101, 9102, tokens, {}, "2026-11-30T09:00:00Z")
    assert (timed[0][2]["JOBMATCH_NOW"], timed[1][2]["TRANSIT_NOW"]) == ("2026-11-30T09:00:00Z",) * 2
