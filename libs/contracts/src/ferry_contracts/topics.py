"""The registry of Ferry's topics: names, partitions and the payload each carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from .connections import ConnectionChanged
from .envelope import Envelope, Payload, utcnow, uuid7
from .records import RecordChanged, RecordsFetched, RecordsPage
from .sync import SyncCompleted, SyncJobChanged, SyncRequested
from .values import RecordAction

CONNECTION_CHANGED = "connection.changed"
SYNC_REQUESTED = "sync.requested"
SYNC_JOB_CHANGED = "sync.job.changed"
RECORDS_FETCHED = "records.fetched"
SYNC_COMPLETED = "sync.completed"
RECORD_CHANGED = "record.changed"

PAYLOADS: dict[str, type[Payload]] = {
    CONNECTION_CHANGED: ConnectionChanged,
    SYNC_REQUESTED: SyncRequested,
    SYNC_JOB_CHANGED: SyncJobChanged,
    RECORDS_FETCHED: RecordsFetched,
    SYNC_COMPLETED: SyncCompleted,
    RECORD_CHANGED: RecordChanged,
}
TOPICS: tuple[str, ...] = tuple(PAYLOADS)


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


ALL_TOPICS: tuple[str, ...] = TOPICS + tuple(dlq(t) for t in TOPICS)


class UnknownEventType(ValueError):
    pass


def topic_of(payload: Payload) -> str:
    return payload.EVENT_TYPE


def parse(raw: bytes, topic: str | None = None) -> Envelope[Any]:
    """Decode and validate one message; raises ValueError (or pydantic's) when it is not one."""
    expected = PAYLOADS.get(topic) if topic is not None else None
    if expected is not None:
        # The common case in one pass (pydantic's own JSON parser: ~40 % less CPU than decoding
        # first); anything unexpected takes the slow path below, which names the fault.
        try:
            envelope = Envelope[expected].model_validate_json(raw)  # type: ignore[valid-type]
        except ValueError:
            pass
        else:
            if envelope.type == topic:
                return envelope
    doc = orjson.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("message is not a JSON object")
    event_type = doc.get("type")
    payload = PAYLOADS.get(event_type) if isinstance(event_type, str) else None
    if payload is None:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    if topic is not None and topic != event_type:
        raise UnknownEventType(f"event type {event_type!r} does not belong on topic {topic!r}")
    return Envelope[payload].model_validate(doc)  # type: ignore[valid-type]


# A page's records are the provider's parsed JSON: orjson writes them as they are, where
# pydantic would walk every value of a thousand records to infer its type first.
_ALL_BUT_RECORDS: Any = {"data": {"item": {"records"}}}


@dataclass(frozen=True, slots=True)
class Encoded:
    """An event already written as `dump` writes its envelope (built without the model on a
    hot path): its id, type and key, and the bytes that go on the wire."""

    id: UUID
    type: str
    connection_id: str | None
    value: bytes


def dump(envelope: BaseModel | Encoded) -> bytes:
    if isinstance(envelope, Encoded):
        return envelope.value
    # Not getattr(data, "item", None): on any other payload, pydantic's __getattr__ builds an
    # AttributeError, a fifth of a record.changed's dump.
    data = getattr(envelope, "data", None)
    item = data.item if isinstance(data, RecordsFetched) else None
    if isinstance(item, RecordsPage):
        doc = envelope.model_dump(mode="json", exclude=_ALL_BUT_RECORDS)
        doc["data"]["item"]["records"] = item.records
        # Whatever a hook put in a record that JSON has no word for, pydantic spells as before.
        return orjson.dumps(doc, default=to_jsonable_python, option=orjson.OPT_UTC_Z)
    # Pydantic's own writer: the same JSON as its dict through orjson, in half the time (no
    # dict built first), and an integer past 64 bits written exactly where orjson refuses it.
    return envelope.model_dump_json().encode()


_RECORD_CHANGED = Envelope[RecordChanged]


def record_changed(
    *, project_id: str | None, connection_id: str | None, data_model: str, record_id: str,
    action: RecordAction, cursor: str, job_id: str | None, is_initial_sync: bool,
    modified_at: datetime, data: dict[str, Any] | None,
    changed_fields: dict[str, dict[str, Any]],
) -> Encoded:
    """A `record.changed` envelope, encoded: the bytes `dump` writes for the model with these
    values, without validating and dumping the model (a third of a changed record's cost in the
    records service). `changed_fields` maps a field to `{"old": ..., "new": ...}`.

    orjson writes what pydantic writes for JSON values, UUIDs and datetimes (a test compares
    the two, field by field and over awkward values); what it cannot write (an integer past 64
    bits) goes through the model."""
    event_id = uuid7()
    doc = {
        "id": event_id, "type": RECORD_CHANGED, "occurred_at": utcnow(),
        "project_id": project_id, "connection_id": connection_id,
        "data": {"data_model": data_model, "record_id": record_id, "action": action,
                 "cursor": cursor, "job_id": job_id, "is_initial_sync": is_initial_sync,
                 "modified_at": modified_at, "data": data, "changed_fields": changed_fields},
    }
    try:
        value = orjson.dumps(doc, option=orjson.OPT_UTC_Z)
    except TypeError:
        value = dump(_RECORD_CHANGED.model_validate(doc))
    return Encoded(event_id, RECORD_CHANGED, connection_id, value)
