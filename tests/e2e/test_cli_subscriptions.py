"""`civic subscriptions` as an operator uses it."""

from __future__ import annotations

import json

from .test_cli import cli


def test_add_list_replay_dead_letters_and_remove(tmp_path):
    civic = cli(tmp_path)
    civic("orgs", "add", "Council", "--source", "https://council.example/*", "--scope", "none")
    refused = civic("subscriptions", "add", "--org", "Council", "--type", "civic.eligibility.changed",
                    "--agreement", "council-support", "--sink", "https://council.example/hooks", code=1)
    assert "no agreement 'council-support' in force for Council" in refused
    assert "agreement council-support v1" in civic(
        "agreements", "put", "council-support", "--recipient", "Council", "--purpose", "employment-support",
        "--attribute", "postcode", "--event", "civic.eligibility.*")
    bad = civic("agreements", "put", "other", "--recipient", "Council", "--purpose", "employment-support",
                "--attribute", "postcode", "--event", "uk.gov.nothing.*", code=1)
    assert "event types the pack does not declare: uk.gov.nothing.*" in bad
    plain = civic("subscriptions", "add", "--org", "Council", "--type", "civic.eligibility.changed",
                  "--agreement", "council-support", "--sink", "http://council.example/hooks", code=1)
    assert "sink must be an https URL" in plain
    made = json.loads(civic("subscriptions", "add", "--org", "Council", "--type", "civic.eligibility.changed",
                            "--agreement", "council-support", "--sink", "https://council.example/hooks", "--json"))
    listed = civic("subscriptions", "list")
    assert made["id"] in listed and "-> https://council.example/hooks" in listed and "nothing yet" in listed
    assert civic("subscriptions", "list", "--org", "Nobody", code=1).strip().endswith("no organisation named 'Nobody'")
    assert "queued 0 events" in civic("subscriptions", "replay", made["id"], "--since", "2026-01-01T00:00:00Z")
    assert "not an ISO 8601 time" in civic("subscriptions", "replay", made["id"], "--since", "last week", code=2)
    assert "no dead letters" in civic("subscriptions", "dead-letters", made["id"])
    civic("subscriptions", "remove", made["id"])
    assert "no subscriptions" in civic("subscriptions", "list")
    assert "no subscription" in civic("subscriptions", "remove", made["id"], code=1)


def test_refused_nats_messages_are_listed_with_the_reason(tmp_path):
    from datetime import UTC, datetime

    from civicmoments.adapters.nats_intake import RefusalStore
    from civicmoments.bootstrap import build
    from civicmoments.settings import Settings

    civic = cli(tmp_path)
    assert "no refused messages" in civic("events", "refused")
    app = build(Settings(data_dir=tmp_path))
    RefusalStore(app.store.engine).add("nats", "civic.in.x", "x", "the message is not JSON", "{oops",
                                       datetime(2026, 11, 30, 9, tzinfo=UTC))
    app.store.close()
    shown = civic("events", "refused")
    assert "2026-11-30 09:00:00 on civic.in.x" in shown and "the message is not JSON" in shown
