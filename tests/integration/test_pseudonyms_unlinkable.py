"""Under a pseudonymised agreement, requests and answers use pseudonyms only: a partner that
asks with the platform's id learns nothing (not even that the id exists); with its own
pseudonym it gets the agreed data back under that pseudonym; another pair's pseudonym fails."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicmoments.api.app import create_app
from civicmoments.engine.ports import Effect


def test_a_partner_reads_only_by_its_own_pseudonym(app):
    hmrc, _ = app.organisations.add("HMRC", ["https://hmrc.example/*"], ["facts:*"])
    jm, jm_token = app.organisations.add("JobMatch", ["https://jm.example/*"], [])
    trainer, trainer_token = app.organisations.add("Trainer", ["https://tr.example/*"], [])
    app.agreements.put("jm", "JobMatch", "employment-support", ["occupation"])
    app.agreements.put("tr", "Trainer", "employment-support", ["occupation"])
    person = app.registry.add_person()
    app.registry.record(hmrc, person, [{"attribute": "occupation", "value": "welder"}])
    app.consents.give(person, "employment-support")
    share = {"spec": {"with": "JobMatch", "purpose": "employment-support", "attributes": ["occupation"]}}
    app.effects.providers["share"].perform([Effect(key="j:match", journey="j", person=person, step="match",
                                                   kind="share", payload=share, max_attempts=1,
                                                   backoff_seconds=1, id=1, attempts=1)])
    pseudonym = app.gate.pseudonymiser.pseudonym(jm.id, "employment-support", person)
    params = {"purpose": "employment-support", "attributes": "occupation"}
    with TestClient(create_app(app)) as api:
        by_id = api.get(f"/v1/people/{person}/data", params=params, headers={"Authorization": f"Bearer {jm_token}"})
        assert by_id.status_code == 404 and by_id.json()["type"].endswith("/unknown-person")
        assert person not in by_id.text.replace(f"'{person}'", "")  # nothing about the person comes back
        nobody = api.get("/v1/people/ps1_nobody/data", params=params, headers={"Authorization": f"Bearer {jm_token}"})
        assert (nobody.status_code, nobody.json()["type"]) == (404, by_id.json()["type"])  # the same answer
        mine = api.get(f"/v1/people/{pseudonym}/data", params=params, headers={"Authorization": f"Bearer {jm_token}"})
        assert mine.status_code == 200, mine.text
        assert mine.json()["subject"] == pseudonym and mine.json()["data"] == {"occupation": "welder"}
        assert person not in mine.text
        theirs = api.get(f"/v1/people/{pseudonym}/data", params=params,
                         headers={"Authorization": f"Bearer {trainer_token}"})
        assert theirs.status_code == 404  # JobMatch's pseudonym means nothing to the trainer
