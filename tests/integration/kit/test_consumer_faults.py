"""The kit's consumer under faults, on the real broker: nothing is committed past a message
that was neither handled nor dead-lettered, and a poison message holds up only its partition."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from ferry_contracts.topics import CONNECTION_CHANGED, dlq, dump
from ferry_kit.broker import Consumer, ensure_topics, make_broker
from ferry_kit.settings import KitSettings
from support.kafka import connection_changed

POISON = 666


async def _dead_letters(bootstrap: str, key: bytes, timeout: float) -> list:
    consumer = AIOKafkaConsumer(
        dlq(CONNECTION_CHANGED),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    found: dict = {}
    try:
        deadline = time.monotonic() + timeout
        while not found and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                found.update({(r.partition, r.offset): r for r in recs if r.key == key})
    finally:
        await consumer.stop()
    return list(found.values())


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return sorted(await producer.partitions_for(topic))
    finally:
        await producer.stop()


def _handler(seen: list[int]):
    async def handle(events):
        for e in events:
            if e.data.version == POISON:
                raise ValueError("cannot handle this one")
        seen.extend(e.data.version for e in events)

    return handle


async def _until(condition, timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_a_failed_dead_letter_publish_is_retried_not_committed_past(
    infra, service_env, unique
):
    """The handler fails for good and the DLQ publish fails twice: the message must still reach
    the DLQ; before, the error escaped the batch and the next batch's commit skipped it."""
    settings = KitSettings(handler_max_attempts=1)
    await ensure_topics(infra.bootstrap, 4)
    seen: list[int] = []
    broker = make_broker(settings, "kit-test")
    consumer = Consumer(
        broker, settings, f"kit-faults-{unique}", {CONNECTION_CHANGED: _handler(seen)}
    )
    consumer._retry_base = 0.01
    real_publish, failures = broker.publish, [2]

    async def flaky_publish(*args, **kwargs):
        if kwargs.get("topic", "").endswith(".dlq") and failures[0] > 0:
            failures[0] -= 1
            raise RuntimeError("the broker refused the dead letter")
        return await real_publish(*args, **kwargs)

    key = f"flaky-{unique}"
    await broker.start()
    broker.publish = flaky_publish  # type: ignore[method-assign]
    try:
        await real_publish(
            dump(connection_changed(key, POISON)), topic=CONNECTION_CHANGED, key=key.encode()
        )
        await asyncio.sleep(1.0)
        await real_publish(
            dump(connection_changed(key, 7)), topic=CONNECTION_CHANGED, key=key.encode()
        )
        await _until(lambda: 7 in seen, 60)
    finally:
        await broker.stop()
    assert failures[0] == 0
    dead = await _dead_letters(infra.bootstrap, key.encode(), timeout=15)
    assert len(dead) >= 1 and b"cannot handle this one" in dict(dead[0].headers)["ferry-error"]


async def test_a_poison_message_holds_up_only_its_partition(infra, service_env, unique):
    """Poison on one partition, good messages on the others at the same moment: the good ones
    are handled (the other partitions' lag recovers) in under 5 s, with the default retries;
    the poison one lands in the DLQ with its error and original partition and offset."""
    settings = KitSettings()
    await ensure_topics(infra.bootstrap, 4)
    seen: list[int] = []
    broker = make_broker(settings, "kit-test")
    Consumer(broker, settings, f"kit-poison-{unique}", {CONNECTION_CHANGED: _handler(seen)})
    key = f"poison-{unique}"
    await broker.start()
    try:
        partitions = await _partitions(infra.bootstrap, CONNECTION_CHANGED)
        # A marker on every partition: once all are seen, the topic's history (other tests'
        # poison messages too) is behind the consumer and the clock measures only ours.
        markers = list(range(1, 1 + len(partitions)))
        for marker, partition in zip(markers, partitions, strict=True):
            await broker.publish(
                dump(connection_changed(key, marker)),
                topic=CONNECTION_CHANGED,
                key=key.encode(),
                partition=partition,
            )
        await _until(lambda: set(markers) <= set(seen), 120)
        good = list(range(100, 100 + 3 * (len(partitions) - 1)))
        await broker.publish(
            dump(connection_changed(key, POISON)),
            topic=CONNECTION_CHANGED,
            key=key.encode(),
            partition=partitions[0],
        )
        for i, version in enumerate(good):
            await broker.publish(
                dump(connection_changed(key, version)),
                topic=CONNECTION_CHANGED,
                key=key.encode(),
                partition=partitions[1 + i % (len(partitions) - 1)],
            )
        recovered = await _until(lambda: set(good) <= set(seen), 30)
        # Read while the consumer still runs: the poison's last retries may still be under way.
        dead_letters = await _dead_letters(infra.bootstrap, key.encode(), timeout=60)
    finally:
        await broker.stop()
    print(f"\nother partitions' lag recovered in {recovered:.2f} s")
    assert recovered < 5.0
    [dead] = dead_letters
    headers = {k: v.decode() for k, v in dead.headers}
    assert "cannot handle this one" in headers["ferry-error"]
    assert headers["ferry-original-topic"] == CONNECTION_CHANGED
    assert headers["ferry-original-partition"] == str(partitions[0])
    assert int(headers["ferry-original-offset"]) >= 0
