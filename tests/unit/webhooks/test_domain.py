"""Pure rules of the webhooks service: bodies, signatures, retries, filters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from ferry_contracts import Envelope, RecordChanged, SyncCompleted
from ferry_webhooks import domain
from ferry_webhooks.settings import DEFAULT_SCHEDULE, Settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def test_a_new_secret_is_whsec_and_base64_of_24_random_bytes():
    s = domain.new_secret()
    assert s.startswith("whsec_") and len(base64.b64decode(s[6:])) == 24
    assert s != domain.new_secret()


def test_headers_signed_with_two_secrets_verify_with_either_and_not_with_a_third():
    old, new, body = domain.new_secret(), domain.new_secret(), '{"id":"msg_1","type":"x"}'
    headers = domain.headers("msg_1", datetime.now(UTC), body, [new, old])
    assert headers["webhook-id"] == "msg_1" and len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(domain.new_secret()).verify(body, headers)


def test_the_default_retry_schedule_lasts_at_least_three_days_then_gives_up():
    assert sum(DEFAULT_SCHEDULE) >= 3 * 86400
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert domain.next_retry([5, 30], 1, now) == now + timedelta(seconds=5)
    assert domain.next_retry([5, 30], 2, now) == now + timedelta(seconds=30)
    assert domain.next_retry([5, 30], 3, now) is None


def test_the_retry_schedule_setting_reads_a_json_list_from_the_environment(monkeypatch):
    monkeypatch.setenv("FERRY_WEBHOOKS_RETRY_SCHEDULE_SECONDS", "[0.2,0.2]")
    monkeypatch.setenv("FERRY_INTERNAL_TOKEN", "x" * 16)
    assert Settings().webhooks_retry_schedule_seconds == [0.2, 0.2]


def test_an_endpoint_is_disabled_only_after_failing_for_the_whole_window():
    now = datetime(2026, 1, 6, tzinfo=UTC)
    assert domain.should_disable(now - timedelta(hours=120), now, 120)
    assert not domain.should_disable(now - timedelta(hours=119), now, 120)
    assert not domain.should_disable(None, now, 120)


def test_an_empty_filter_takes_every_type_and_unknown_types_are_named_by_position():
    assert domain.matches([], "record_created") and domain.matches(None, "sync_failed")
    assert not domain.matches(["sync_completed"], "sync_failed")
    assert domain.invalid_event_types(["sync_completed", "nope", "record_created", "x"]) == [1, 3]


def test_ordered_endpoints_share_a_lane_per_connection_and_unordered_ones_do_not():
    assert domain.lane(True, "con_1", "msg_a") == domain.lane(True, "con_1", "msg_b") == "con_1"
    assert domain.lane(False, "con_1", "msg_a") != domain.lane(False, "con_1", "msg_b")
    assert (
        domain.lane_lock_key("ep", "a")
        == domain.lane_lock_key("ep", "a")
        != domain.lane_lock_key("ep", "b")
    )


def test_a_failed_sync_becomes_sync_failed_with_its_error_and_the_body_has_the_contract_fields():
    e = Envelope.of(
        SyncCompleted(
            job_id="j",
            connection_id="c",
            provider_name="p",
            data_model="CONTACTS",
            status="cancelled",
            error="stopped",
        ),
        project_id="prj",
        connection_id="c",
    )
    kind, data = domain.sync_event(e, "u")
    assert kind == "sync_failed" and data["error"] == "stopped" and data["user_id"] == "u"
    assert {
        "connection_id",
        "provider_name",
        "data_model",
        "job_id",
        "batch_id",
        "full_sync",
        "is_initial_sync",
        "counts",
        "last_synced_at",
        "held_deletions",
    } <= set(data)
    body = orjson.loads(domain.body("msg_1", kind, e.occurred_at, "prj", data))
    assert set(body) == {"id", "type", "created_at", "project_id", "data"} and body["id"] == "msg_1"


def test_a_record_event_carries_data_for_created_and_changed_fields_for_updated():
    def rec(action):
        return Envelope.of(
            RecordChanged(
                data_model="CONTACTS",
                record_id="r",
                action=action,
                cursor="c1",
                modified_at=datetime.now(UTC),
                data={"a": 1},
                changed_fields={"a": {"old": 0, "new": 1}},
            ),
            project_id="p",
            connection_id="c",
        )

    kind, data = domain.record_event(rec("created"), None)
    assert kind == "record_created" and data["data"] == {"a": 1} and "changed_fields" not in data
    kind, data = domain.record_event(rec("updated"), None)
    assert data["changed_fields"] == {"a": {"old": 0, "new": 1}}
    kind, data = domain.record_event(rec("deleted"), None)
    assert kind == "record_deleted" and "data" not in data and data["record_id"] == "r"
