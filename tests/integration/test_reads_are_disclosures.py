"""Every organisation read of personal data is a disclosure in the log; a full export needs the
export scope and a recorded reason, and an organisation with only people:read gets none."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicmoments.api.app import create_app


def test_reads_of_questions_messages_and_journeys_are_logged_and_exports_need_a_reason(app):
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    employer, _ = app.organisations.add("Northfield", ["https://northfield.example/*"], ["uk.gov.dwp.employment.*"])
    _, reader = app.organisations.add("Nosy", ["https://nosy.example/*"], ["people:read"])
    portal, token = app.organisations.add("Portal", ["civic://portal"], [
        "civic.*", "people:read", "messages:read", "messages:content", "journeys:read"])
    _, staff = app.organisations.add("Console", ["civic://console"], ["people:read", "people:export"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": k, "value": v} for k, v in {
        "given_name": "Abe", "family_name": "Ashworth", "date_of_birth": "1984-05-02",
        "bank_account": "20-00-00 12345678", "home_area": "Leeds",
        "employer": "Northfield"}.items()])  # only the person's employer may report the job ending
    app.intake.submit(employer, [{"specversion": "1.0", "type": "uk.gov.dwp.employment.job-ended",
                                  "source": "https://northfield.example/hr", "id": "n1", "subject": person,
                                  "data": {"reason": "redundancy", "last_day": "2026-01-02", "age": 42}}])
    app.worker.drain()
    (j,) = app.store.journeys_for(person)
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(app)) as api:
        r = api.get(f"/v1/people/{person}/export", headers={"Authorization": f"Bearer {reader}"},
                    params={"reason": "curious"})
        assert r.status_code == 403 and "Ashworth" not in r.text and "12345678" not in r.text
        assert api.get(f"/v1/people/{person}/questions", params={"for": "home_area,aspirations"},
                       headers=h).status_code == 200
        assert api.get(f"/v1/people/{person}/messages", params={"content": "true"}, headers=h).status_code == 200
        assert api.get(f"/v1/journeys/{j.id}", headers=h).status_code == 200
        r = api.get(f"/v1/people/{person}/export", headers={"Authorization": f"Bearer {staff}"})
        assert r.status_code == 422 and r.json()["type"].endswith("/export-reason-required")
        r = api.get(f"/v1/people/{person}/export", headers={"Authorization": f"Bearer {staff}"},
                    params={"reason": "subject access request 2026-114"})
        assert r.status_code == 200
    log = app.registry.store.log_for(person)
    channels = {e["channel"]: e for e in log}
    assert channels["api:questions"]["recipient"] == portal.id
    assert channels["api:questions"]["attributes"] == ["home_area"]
    assert channels["api:messages"]["attributes"] == ["message_content"]
    assert channels["api:journey"]["journey"] == j.id
    assert channels["api:export"]["reason"] == "subject access request 2026-114"
    assert "bank_account" in channels["api:export"]["attributes"]
    assert not any(e["channel"] == "api:export" and e["recipient"] != channels["api:export"]["recipient"]
                   for e in log)  # the refused export left nothing
