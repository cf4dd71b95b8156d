"""The kit's batched sends: every message arrives, each key on the partition `producer.send`
would choose and in order, across several batches of one partition."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from ferry_kit.outbox import YIELD_EVERY, Outgoing, send_all


async def _all(bootstrap: str, topic: str, n: int, timeout: float = 20.0) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    out: dict = {}
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < n and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                out.update({(r.partition, r.offset): r for r in recs})
    finally:
        await consumer.stop()
    return [out[k] for k in sorted(out)]


async def test_batches_keep_each_keys_partition_and_order(infra, unique):
    topic = f"kit-send-all-{unique}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 4, 1)])
    finally:
        await admin.close()
    # A small batch size: each partition's messages need several batches.
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, max_batch_size=2048)
    await producer.start()
    try:
        keys = [f"k{i}".encode() for i in range(7)]
        n = YIELD_EVERY * 3
        messages = [Outgoing(topic, keys[i % 7], f"{i:05d}".encode() + b"." * 100,
                             [("h", str(i).encode())]) for i in range(n)]
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        other = asyncio.create_task(ticker())
        sent = await send_all(producer, messages)
        other.cancel()
        assert ticks >= 2  # the loop was given back while queueing
        assert len(sent) == n
        await asyncio.gather(*sent)
        # Where `send` puts each key: the same partition.
        expected = {}
        for key in keys:
            meta = await producer.send_and_wait(topic, b"probe", key=key)
            expected[key] = meta.partition
    finally:
        await producer.stop()
    records = [r for r in await _all(infra.bootstrap, topic, n + len(keys)) if r.value != b"probe"]
    assert len(records) == n
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for r in records:
        assert r.partition == expected[r.key]
        assert dict(r.headers)["h"] == str(int(r.value[:5])).encode()
        by_key[r.key].append(int(r.value[:5]))
    for key, values in by_key.items():
        assert values == sorted(values), key
        assert len(values) == len(range(keys.index(key), n, 7))
