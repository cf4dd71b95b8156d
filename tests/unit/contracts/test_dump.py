"""What goes on the bus: a page's records written by orjson say what pydantic would have said."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
from ferry_contracts import Envelope
from ferry_contracts.records import (
    FieldChange,
    RecordChanged,
    RecordsEnd,
    RecordsFetched,
    RecordsPage,
)
from ferry_contracts.topics import dump, parse, record_changed

RECORDS = [
    {"id": "c1", "name": "Zoë", "score": 1.5, "tags": ["a"], "nested": {"n": None, "ok": True}},
    {"id": "c2", "big": 2**63 - 1, "when": "2026-01-02T03:04:05Z"},
]


def _page(records: list[dict[str, object]]) -> Envelope[RecordsFetched]:
    item = RecordsPage(job_id="j1", data_model="contacts", page=3, records=records,
                       ids=["c1", "c2"], deleted_ids=["c0"], is_initial_sync=True)
    return Envelope.of(RecordsFetched(item=item), project_id="p1", connection_id="conn1")


def test_a_page_dumps_to_the_same_json_as_pydantic_writes_it():
    envelope = _page(RECORDS)
    assert orjson.loads(dump(envelope)) == json.loads(envelope.model_dump_json())


def test_a_dumped_page_parses_back_to_the_same_event():
    envelope = _page(RECORDS)
    assert parse(dump(envelope), "records.fetched") == envelope


def test_a_value_json_has_no_word_for_is_written_as_pydantic_writes_it():
    odd = [{"id": "x", "at": datetime(2026, 1, 2, tzinfo=UTC), "day": date(2026, 1, 2),
            "amount": Decimal("1.10")}]
    envelope = _page(odd)
    assert orjson.loads(dump(envelope)) == json.loads(envelope.model_dump_json())
    assert orjson.loads(dump(envelope))["data"]["item"]["records"] == [
        {"id": "x", "at": "2026-01-02T00:00:00Z", "day": "2026-01-02", "amount": "1.10"}
    ]


def test_an_end_marker_dumps_as_pydantic_writes_it():
    end = RecordsEnd(job_id="j1", data_model="contacts", provider_name="sandbox",
                     status="complete", started_at=datetime(2026, 1, 2, tzinfo=UTC))
    envelope = Envelope.of(RecordsFetched(item=end), connection_id="conn1")
    assert orjson.loads(dump(envelope)) == json.loads(envelope.model_dump_json())


def _changed(data: dict[str, object]) -> Envelope[RecordChanged]:
    return Envelope.of(RecordChanged(
        data_model="CONTACTS", record_id="c1", action="updated", cursor="djE6MQ", job_id="j1",
        modified_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), data=data,
        changed_fields={"score": FieldChange(old=1, new=1.5)}), project_id="p1",
        connection_id="conn1")


def test_a_record_change_dumps_as_its_dict_through_orjson_did():
    envelope = _changed({**RECORDS[0], "ctl": "a\x01\u2028b", "e": 1e16, "tiny": 5e-324})
    assert dump(envelope) == orjson.dumps(envelope.model_dump(mode="json"))
    assert parse(dump(envelope), "record.changed") == envelope


def test_a_record_change_holding_an_integer_past_64_bits_is_written_exactly():
    # orjson refuses such an integer: the event failed in the outbox before.
    envelope = _changed({"id": "c1", "big": 123456789012345678901234})
    assert json.loads(dump(envelope))["data"]["data"]["big"] == 123456789012345678901234


AWKWARD = [1.0, 0.1, 1e16, 1e-7, 123456789.123, 1.7976931348623157e308, -0.0, 5e-324, 1e22,
           0.30000000000000004, 2**63 - 1, -2**63, True, False, None, "",
           "q\"b\\s\n\t\r\b\f\x00\x01\x1f\x7f\u2028\u2029é😀</script>",
           [1, {"a": 2.0, "b": [None, "x"]}], {"z": 1, "a": {"deep": [1.5, "y"]}}]


def _encoded(data: dict[str, object] | None, changes: dict[str, dict[str, object]],
             modified_at: datetime) -> tuple[bytes, bytes]:
    """(record_changed's bytes, the bytes of the model built from the same values)."""
    event = record_changed(
        project_id="p1", connection_id="conn1", data_model="CONTACTS", record_id="c1",
        action="updated", cursor="djE6MQ", job_id="j1", is_initial_sync=False,
        modified_at=modified_at, data=data, changed_fields=changes)
    model = parse(event.value, "record.changed")
    assert (model.id, model.type, model.connection_id) == (
        event.id, event.type, event.connection_id)
    return event.value, dump(model)


def test_an_encoded_record_change_is_byte_for_byte_what_the_model_writes():
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    for value in AWKWARD:
        data = {**RECORDS[0], "v": value}
        ours, model = _encoded(data, {"v": {"old": value, "new": None}}, at)
        assert ours == model, value
    # whole seconds, a deletion's missing data, a creation's empty diff
    ours, model = _encoded(None, {}, datetime(2026, 1, 2, tzinfo=UTC))
    assert ours == model and b'"modified_at":"2026-01-02T00:00:00Z"' in ours


def test_an_encoded_record_change_with_an_integer_past_64_bits_goes_through_the_model():
    ours, model = _encoded({"id": "c1", "big": 123456789012345678901234}, {},
                           datetime(2026, 1, 2, tzinfo=UTC))
    assert ours == model and json.loads(ours)["data"]["data"]["big"] == 123456789012345678901234


def test_dump_writes_an_encoded_event_as_it_came():
    event = record_changed(
        project_id=None, connection_id="conn1", data_model="CONTACTS", record_id="c1",
        action="created", cursor="djE6MQ", job_id=None, is_initial_sync=True,
        modified_at=datetime(2026, 1, 2, tzinfo=UTC), data={"id": "c1"}, changed_fields={})
    assert dump(event) is event.value
