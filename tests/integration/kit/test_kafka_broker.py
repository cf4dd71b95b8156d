"""The Apache Kafka that tests and `ferry dev --broker kafka` run: data on disk survives
restarts.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from ferry_kit.broker import ensure_topics
from ferry_kit.infra import KafkaBroker


@pytest.fixture
async def kafka():
    broker = await asyncio.to_thread(KafkaBroker().start)
    try:
        yield broker
    finally:
        await asyncio.to_thread(broker.stop)


def _group(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        "kept",
        bootstrap_servers=bootstrap,
        group_id="ferry-test",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )


async def _take(consumer: AIOKafkaConsumer, n: int) -> list[bytes]:
    got: list[bytes] = []
    deadline = asyncio.get_running_loop().time() + 20
    while len(got) < n and asyncio.get_running_loop().time() < deadline:
        for records in (await consumer.getmany(timeout_ms=200, max_records=n - len(got))).values():
            got.extend(r.value for r in records)
    return got


@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "killed"])
async def test_messages_and_committed_offsets_survive_a_broker_restart(kafka, crash):
    await ensure_topics(kafka.bootstrap, 1, ["kept"])
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait("kept", f"m{i}".encode(), key=b"c1")
    finally:
        await producer.stop()
    consumer = _group(kafka.bootstrap)
    await consumer.start()
    try:
        assert await _take(consumer, 4) == [b"m0", b"m1", b"m2", b"m3"]
        await consumer.commit({TopicPartition("kept", 0): 4})
    finally:
        await consumer.stop()

    port = kafka.port
    await asyncio.to_thread(kafka.restart, crash)
    assert kafka.port == port

    consumer = _group(kafka.bootstrap)
    await consumer.start()
    try:
        assert await _take(consumer, 6) == [f"m{i}".encode() for i in range(4, 10)]
    finally:
        await consumer.stop()
