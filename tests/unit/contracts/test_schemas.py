"""The event contracts: a snapshot of their JSON schemas guards against renames and removals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ferry_contracts import Envelope, RecordsEnd, RecordsFetched, RecordsPage
from ferry_contracts.topics import ALL_TOPICS, PAYLOADS, UnknownEventType, dump, parse

SNAPSHOT = Path(__file__).parent / "schemas.snapshot.json"


def _fields(schema: dict, defs: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, d in defs.items():
        out[name] = sorted(d.get("properties", {}))
    out["__root__"] = sorted(schema.get("properties", {}))
    return out


def current() -> dict[str, dict[str, list[str]]]:
    result = {}
    for topic, payload in PAYLOADS.items():
        schema = Envelope[payload].model_json_schema()  # type: ignore[valid-type]
        result[topic] = _fields(schema, schema.get("$defs", {}))
    return result


def test_no_contract_field_was_renamed_or_removed():
    now = current()
    if os.environ.get("FERRY_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(now, indent=1, sort_keys=True))
    before = json.loads(SNAPSHOT.read_text())
    missing = [
        f"{topic}:{model}.{field}"
        for topic, models in before.items()
        for model, fields in models.items()
        for field in fields
        if field not in now.get(topic, {}).get(model, [])
    ]
    assert missing == [], "contract fields removed or renamed (add fields, never remove them)"


def test_every_topic_has_a_dead_letter_topic():
    for topic in PAYLOADS:
        assert f"{topic}.dlq" in ALL_TOPICS


def test_an_envelope_round_trips_through_bytes():
    env = Envelope.of(
        RecordsFetched(
            item=RecordsPage(job_id="j", data_model="CONTACTS", page=0, records=[{"id": "1"}])
        ),
        project_id="p",
        connection_id="c",
    )
    back = parse(dump(env), "records.fetched")
    assert back.id == env.id and back.data == env.data
    end = Envelope.of(
        RecordsFetched(
            item=RecordsEnd(
                job_id="j", data_model="CONTACTS", provider_name="sandbox", status="complete"
            )
        )
    )
    assert isinstance(parse(dump(end)).data.item, RecordsEnd)


def test_a_message_on_the_wrong_topic_is_refused():
    env = Envelope.of(
        RecordsFetched(item=RecordsPage(job_id="j", data_model="X", page=0, records=[]))
    )
    with pytest.raises(UnknownEventType):
        parse(dump(env), "sync.completed")


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b"{}", b'{"type": "nope"}', b'{"type": "sync.completed", "data": {}}']
)
def test_invalid_messages_raise_instead_of_passing(raw):
    with pytest.raises(ValueError):
        parse(raw)
