"""Waived fares are booked to the statement month on the platform's clock, and the gate keeps that
month with each tap: a tap a second before midnight at a month's end and one a second after land
on two statements, whatever the gate's own clock says. Gate and platform talk over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from partners.transit.app import create_app as gates

from civicmoments.api.app import create_app
from civicmoments.domain.clock import FakeClock

from ..conftest import make_app
from ..integration.test_partner_push_back_wire import free_port, serve
from ..people import known

CARD = "METRO-CARD-0077"


def test_each_waived_fare_is_on_the_statement_of_the_platforms_month(db_url):
    clock = FakeClock(datetime(2031, 2, 28, 23, 59, 59, tzinfo=timezone.utc))
    app = make_app(db_url, clock)
    _, token = app.organisations.add("Metro Transit", ["https://metro.example/*"], ["transit:check"])
    app.agreements.put("metro-fares", "Metro Transit", "fare-concession", [], "identified", 1, ["active-jobseeker"])
    person = known(app, given_name="Ida", employment_status="unemployed", jsa_claimant=True)
    app.transit.register(person, CARD)
    port = free_port()
    server = serve(create_app(app), port)
    try:
        gate = TestClient(gates(f"http://127.0.0.1:{port}", token))
        first = gate.post("/v1/taps", json={"card": CARD}).json()
        clock.advance(timedelta(seconds=2))
        second = gate.post("/v1/taps", json={"card": CARD, "fare_pence": 310}).json()
        stranger = gate.post("/v1/taps", json={"card": "METRO-CARD-9999"}).json()
        assert (first["waived"], first["statement_month"], first["recorded_at"]) == (True, "2031-02",
                                                                                   "2031-02-28T23:59:59Z")
        assert (second["waived"], second["statement_month"]) == (True, "2031-03")
        assert (stranger["waived"], stranger["charged_pence"], stranger["statement_month"]) == (False, 280, None)
        assert gate.get("/v1/taps").json() == [first, second, stranger]

        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(app)) as platform:
            feb, mar = (platform.get("/v1/chargeback/statements", params={"month": m}, headers=headers).json()
                        for m in ("2031-02", "2031-03"))
            assert (feb["fares"], feb["total_pence"], [d["day"] for d in feb["days"]]) == (1, 280, ["2031-02-28"])
            assert (mar["fares"], mar["total_pence"], [d["day"] for d in mar["days"]]) == (1, 310, ["2031-03-01"])
            bad = platform.get("/v1/chargeback/statements", params={"month": "03/2031"}, headers=headers)
            assert bad.status_code == 422 and "YYYY-MM" in bad.json()["detail"]
    finally:
        server.should_exit = True
        app.store.close()


def test_a_statement_lists_only_days_of_its_own_month_whatever_zone_the_database_session_is_in(db_url, monkeypatch):
    monkeypatch.setenv("PGTZ", "Europe/London")  # a PostgreSQL session in UK time; 23:30 UTC is 00:30 BST
    app = make_app(db_url, FakeClock(datetime(2026, 5, 31, 23, 30, tzinfo=timezone.utc)))
    try:
        org, _ = app.organisations.add("Metro Transit", ["https://metro.example/*"], ["transit:check"])
        app.agreements.put("metro-fares", "Metro Transit", "fare-concession", [], "identified", 1,
                           ["active-jobseeker"])
        app.transit.register(known(app, employment_status="unemployed", jsa_claimant=True), CARD)
        answer = app.transit.waive(org, CARD, 280)
        may = app.transit.statement(org, answer["statement_month"])
        assert (answer["statement_month"], may["days"]) == ("2026-05", [{"day": "2026-05-31", "fares": 1,
                                                                         "total_pence": 280}])
    finally:
        app.store.close()
