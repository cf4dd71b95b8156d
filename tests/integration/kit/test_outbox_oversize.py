"""An outbox row too large for the broker is dead-lettered with a reason; it blocks neither the
rows after it nor makes the relay republish the rows before it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from ferry_contracts.topics import CONNECTION_CHANGED, dlq, dump
from ferry_kit import migrate, outbox
from ferry_kit.broker import ensure_topics
from ferry_kit.db import create_pool
from support.kafka import connection_changed

EMPTY = Path(__file__).parent / "no_migrations"




async def _keyed(bootstrap: str, topic: str, key: bytes, seconds: float) -> list:
    """Everything on `topic` with `key`, read for `seconds` (to see duplicates too)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: dict = {}
    try:
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                out.update({(r.partition, r.offset): r for r in recs if r.key == key})
    finally:
        await consumer.stop()
    return [out[k] for k in sorted(out)]


async def test_an_oversized_outbox_row_is_dead_lettered_and_the_rows_around_it_go_once(
    infra, service_env, unique
):
    schema = f"kit_big_{unique}"
    await migrate.apply(infra.dsn, schema, EMPTY)
    key = f"big-{unique}"
    before, after = connection_changed(key, 1), connection_changed(key, 3)
    pool = await create_pool(infra.dsn, schema)
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, [before])
        # Over the producer's own request limit (8 MiB): before, send() raised for it on every pass.
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)",
            connection_changed(key, 2).id,
            CONNECTION_CHANGED,
            key,
            b"x" * (9 * 1024 * 1024),
        )
        await outbox.add(conn, [after])
    await ensure_topics(infra.bootstrap, 4)
    producer = outbox.make_producer(infra.bootstrap)
    await producer.start()
    relay = outbox.OutboxRelay(infra.dsn, schema, producer, idle_wait=0.05)
    relay.start()
    try:
        # A stalled relay republishes the first row meanwhile, and never empties the outbox.
        await asyncio.sleep(5.0)
        left, dead = (
            await pool.fetchval("SELECT count(*) FROM outbox"),
            await pool.fetch("SELECT * FROM outbox_dead"),
        )
    finally:
        await relay.stop()
        await producer.stop()
        await pool.close()
    assert left == 0
    assert [(r["key"], len(r["payload"])) for r in dead] == [(key, 9 * 1024 * 1024)]
    assert "exceeds" in dead[0]["reason"]
    published = await _keyed(infra.bootstrap, CONNECTION_CHANGED, key.encode(), 3.0)
    assert [r.value for r in published] == [dump(before), dump(after)]
    [notice] = await _keyed(infra.bootstrap, dlq(CONNECTION_CHANGED), key.encode(), 2.0)
    headers = {k: v.decode() for k, v in notice.headers}
    assert "exceeds" in headers["ferry-error"] and headers["ferry-outbox-schema"] == schema
    assert headers["ferry-original-topic"] == CONNECTION_CHANGED


async def test_only_the_oversized_message_of_a_bundle_is_dead_lettered_the_rest_go_in_order(
    infra, service_env, unique
):
    schema = f"kit_bigb_{unique}"
    await migrate.apply(infra.dsn, schema, EMPTY)
    key = f"bigb-{unique}"
    small = [connection_changed(key, v) for v in (1, 3, 4)]
    big = connection_changed(key, 2)
    big = big.model_copy(update={"data": big.data.model_copy(update={"user_id": "u" * 5000})})
    limit = 4000  # the small ones fit, the big one does not
    pool = await create_pool(infra.dsn, schema)
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, [small[0], big, *small[1:]])
    assert await pool.fetchval("SELECT events FROM outbox") == 4  # one bundle
    await ensure_topics(infra.bootstrap, 4)
    producer = outbox.make_producer(infra.bootstrap)
    await producer.start()
    relay = outbox.OutboxRelay(infra.dsn, schema, producer, max_message_bytes=limit)
    try:
        async with pool.acquire() as conn:
            assert await relay._publish_batch(conn) == 4
        left = await pool.fetchval("SELECT count(*) FROM outbox")
        dead = await pool.fetch("SELECT * FROM outbox_dead")
    finally:
        await producer.stop()
        await pool.close()
    assert left == 0
    assert [(r["event_id"], bytes(r["payload"])) for r in dead] == [(big.id, dump(big))]
    published = await _keyed(infra.bootstrap, CONNECTION_CHANGED, key.encode(), 3.0)
    assert [r.value for r in published] == [dump(e) for e in small]
    [notice] = await _keyed(infra.bootstrap, dlq(CONNECTION_CHANGED), key.encode(), 2.0)
    headers = {k: v.decode() for k, v in notice.headers}
    assert headers["ferry-event-id"] == str(big.id) and "exceeds" in headers["ferry-error"]
