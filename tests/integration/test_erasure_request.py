"""A request to erase personal data opens a case for a decision maker, and the person is told the decision."""

from __future__ import annotations

from ..people import known


def test_an_erasure_request_opens_a_case_and_the_decision_is_written_to_the_person(app):
    known(app, "zoe")
    dm = app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
    request = app.retention.request_erasure("zoe", "my old address, please")
    app.worker.drain()
    (case,) = app.cases.list(queue="erasure", person="zoe")
    assert case.reason.endswith("(UK GDPR Article 17)") and case.journey is not None
    assert "erasure-decision" not in {m["template"] for m in app.messenger.of_person("zoe")}
    app.cases.resolve(case.id, dm, "kept", "benefit decisions must be kept for six years", case.version)
    app.worker.drain()
    (j,) = [j for j in app.store.journeys_for("zoe") if j.moment == "erasure-request"]
    assert j.steps["answer"].status.value == "done"
    (message,) = [m for m in app.messenger.of_person("zoe", reveal=True) if m["template"] == "erasure-decision"]
    assert "because the law requires" in message["content"]["long"]
    assert "benefit decisions must be kept for six years" in message["content"]["long"]
    assert request["status"] == "received"


def test_an_outcome_an_erasure_case_does_not_allow_is_refused(app):
    import pytest

    from civicmoments.domain.cases import OutcomeNotAllowedError

    known(app, "ian")
    dm = app.officers.add("Dara Maker", "sub-dara", "employment-department", ["decision-maker"])
    app.retention.request_erasure("ian", "everything")
    app.worker.drain()
    (case,) = app.cases.list(queue="erasure", person="ian")
    with pytest.raises(OutcomeNotAllowedError):
        app.cases.resolve(case.id, dm, "upheld", "not an erasure outcome", case.version)
