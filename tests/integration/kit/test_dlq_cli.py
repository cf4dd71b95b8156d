"""`ferry dlq list|replay TOPIC` on the real broker: an operator sees each dead letter with its
error and origin, and a replay puts the original payload back on the original topic."""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from ferry_contracts.topics import CONNECTION_CHANGED, dlq, dump
from ferry_kit.broker import ensure_topics
from support.kafka import connection_changed
from typer.testing import CliRunner

from ferry_cli.main import app


async def _dead_letters(bootstrap: str, key: str, payload: bytes) -> None:
    """One as the consumer writes it, one as the outbox relay writes an oversized row's notice."""
    await ensure_topics(bootstrap, 4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    origin = CONNECTION_CHANGED.encode()
    letters = {
        payload: {
            "ferry-error": b"ValueError: cannot handle this one",
            "ferry-original-topic": origin,
            "ferry-original-partition": b"2",
            "ferry-original-offset": b"41",
        },
        b"": {
            "ferry-error": b"outbox row of 2000000 bytes exceeds the broker's limit",
            "ferry-original-topic": origin,
            "ferry-outbox-schema": b"records",
            "ferry-outbox-id": b"17",
            "ferry-event-id": b"0193-e",
        },
    }
    try:
        for value, headers in letters.items():
            await producer.send_and_wait(
                dlq(CONNECTION_CHANGED), value, key=key.encode(), headers=list(headers.items())
            )
    finally:
        await producer.stop()


async def _on_topic(bootstrap: str, key: str) -> list:
    consumer = AIOKafkaConsumer(
        CONNECTION_CHANGED, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: dict = {}
    try:
        for _ in range(15):
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                found.update({(r.partition, r.offset): r for r in recs if r.key == key.encode()})
    finally:
        await consumer.stop()
    return list(found.values())


def test_an_operator_lists_dead_letters_and_replays_them_to_their_topic(infra, service_env, unique):
    key = f"dlq-cli-{unique}"
    payload = dump(connection_changed(key))
    asyncio.run(_dead_letters(infra.bootstrap, key, payload))
    cli, opts = CliRunner(), ["--key", key, "--bootstrap", infra.bootstrap]

    listed = cli.invoke(app, ["dlq", "list", CONNECTION_CHANGED, *opts])
    assert listed.exit_code == 0, listed.output
    consumer_letter, notice = [json.loads(line) for line in listed.output.splitlines()]
    assert consumer_letter["error"] == "ValueError: cannot handle this one"
    assert (
        consumer_letter["original_topic"],
        consumer_letter["original_partition"],
        consumer_letter["original_offset"],
    ) == (CONNECTION_CHANGED, 2, 41)
    assert consumer_letter["event_id"] == str(_event_id(payload))
    assert notice["bytes"] == 0 and notice["kept_in"] == "records.outbox_dead id 17"

    replayed = cli.invoke(app, ["dlq", "replay", CONNECTION_CHANGED, *opts])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.output) == {"replayed": 1, "skipped": 1}
    [back] = asyncio.run(_on_topic(infra.bootstrap, key))
    assert back.value == payload
    assert dict(back.headers)["ferry-replayed-from"].startswith(b"connection.changed.dlq:")


def _event_id(payload: bytes) -> str:
    return json.loads(payload)["id"]
