"""How the outbox writes events as rows (bundles of one topic and key) and how the relay turns
a row back into its messages."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from ferry_contracts import ConnectionChanged, Envelope
from ferry_contracts.topics import dump
from ferry_kit import outbox


def _event(cid: str, version: int = 1, name: str = "sandbox") -> Envelope[Any]:
    payload = ConnectionChanged(connection_id=cid, user_id="u", provider_name=name,
                                status="CONNECTED", version=version)
    return Envelope.of(payload, project_id="p", connection_id=cid)


def test_consecutive_events_of_one_key_share_a_row_and_a_lone_event_keeps_its_own():
    a = [_event("a", i) for i in range(3)]
    b, a_again = _event("b"), _event("a", 9)
    rows = outbox.rows_of([*a, b, a_again], {"traceparent": "t"})
    assert [(r[2], r[5]) for r in rows] == [("a", 3), ("b", 1), ("a", 1)]
    first, lone, last = rows
    assert first[0] == a[0].id and first[3] is None and first[4] == [dump(e) for e in a]
    assert lone[3] == dump(b) and lone[4] is None and lone[0] == b.id
    assert last[3] == dump(a_again) and all(r[6] == {"traceparent": "t"} for r in rows)


def test_a_bundle_ends_at_its_size_limits(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(outbox, "BUNDLE_MAX", 4)
    rows = outbox.rows_of([_event("a", i) for i in range(10)], {})
    assert [r[5] for r in rows] == [4, 4, 2]
    one = len(dump(_event("a")))
    monkeypatch.setattr(outbox, "BUNDLE_MAX", 1000)
    monkeypatch.setattr(outbox, "BUNDLE_BYTES", 2 * one)  # full once it holds two
    assert [r[5] for r in outbox.rows_of([_event("a", i) for i in range(5)], {})] == [2, 2, 1]


def _relay(max_bytes: int = outbox.MAX_MESSAGE_BYTES) -> outbox.OutboxRelay:
    return outbox.OutboxRelay("postgresql://unused", "s", None,  # type: ignore[arg-type]
                              max_message_bytes=max_bytes)


def _row(events: list[Envelope[Any]], key: str | None = "a") -> dict[str, Any]:
    [row] = outbox.rows_of(events, {"traceparent": "t"})
    return dict(zip(["event_id", "topic", "key", "payload", "payloads", "events", "headers"],
                    (*row[:2], key, *row[3:]), strict=True))


def test_the_relay_expands_a_bundle_into_its_messages_in_order():
    events = [_event("a", i) for i in range(3)]
    messages = _relay()._messages(_row(events))
    assert [m.value for m in messages if isinstance(m, outbox.Outgoing)] == [
        dump(e) for e in events]
    assert all(isinstance(m, outbox.Outgoing) and m.key == b"a" and m.topic == events[0].type
               and m.headers == [("traceparent", b"t")] for m in messages)
    lone = _relay()._messages(_row([events[0]]))
    assert [m.value for m in lone if isinstance(m, outbox.Outgoing)] == [dump(events[0])]


def test_only_the_message_of_a_bundle_over_the_broker_limit_is_refused():
    small, big = _event("a", 1), _event("a", 2, name="x" * 5000)
    limit = len(dump(small)) + 200
    messages = _relay(limit)._messages(_row([small, big, small]))
    assert isinstance(messages[1], MessageSizeTooLargeError)
    assert [type(m) for m in messages] == [outbox.Outgoing, MessageSizeTooLargeError,
                                           outbox.Outgoing]
    assert outbox._event_id(dump(big)) == big.id


def test_an_event_that_came_encoded_is_written_as_it_came_in_its_bundle():
    from datetime import UTC, datetime

    from ferry_contracts.topics import record_changed

    encoded = [record_changed(
        project_id="p", connection_id="a", data_model="CONTACTS", record_id=f"r{i}",
        action="created", cursor="djE6MQ", job_id="j", is_initial_sync=False,
        modified_at=datetime(2026, 1, 2, tzinfo=UTC), data={"id": f"r{i}"}, changed_fields={})
        for i in range(3)]
    lone = _event("a")
    rows = outbox.rows_of([*encoded, lone], {})
    assert [(r[1], r[2], r[5]) for r in rows] == [("record.changed", "a", 3),
                                                  ("connection.changed", "a", 1)]
    assert rows[0][0] == encoded[0].id and rows[0][4] == [e.value for e in encoded]
