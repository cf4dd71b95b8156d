"""A minimal Ferry-kit service used by crash tests; run as its own OS process.

Modes (argv[1]):
- `consume`: consume `connection.changed` with group argv[2]; each event's effect is one row in
  `effects`, committed with the inbox claim. With FERRY_TEST_CRASH_AFTER_EFFECT=1 the process
  dies (os._exit) right after the database commit and before the Kafka offset commit.
- `write-outbox`: write N outbox events (argv[2]) for key argv[3] and die before any relay runs.
- `relay`: run the outbox relay until the outbox is empty, then exit 0.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from ferry_contracts import ConnectionChanged, Envelope
from ferry_contracts.topics import CONNECTION_CHANGED
from ferry_kit import inbox, migrate, outbox
from ferry_kit.broker import Consumer, ensure_topics, make_broker
from ferry_kit.db import create_pool
from ferry_kit.settings import KitSettings

SCHEMA = os.environ.get("FERRY_TEST_SCHEMA", "crashy")
NO_MIGRATIONS = Path(__file__).parent / "no_migrations"


async def _setup(settings: KitSettings):
    NO_MIGRATIONS.mkdir(exist_ok=True)
    await migrate.apply(settings.database_url, SCHEMA, NO_MIGRATIONS)
    pool = await create_pool(settings.database_url, SCHEMA)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS effects "
        "(event_id uuid, version int, at timestamptz DEFAULT now())"
    )
    return pool


async def consume(group: str) -> None:
    settings = KitSettings()
    pool = await _setup(settings)
    crash = os.environ.get("FERRY_TEST_CRASH_AFTER_EFFECT") == "1"
    only = os.environ.get("FERRY_TEST_KEY")  # the topic is shared: other tests' events are not ours

    async def handle(events: list[Envelope]) -> None:
        events = [e for e in events if only is None or e.connection_id == only]
        if not events:
            return
        async with pool.acquire() as conn, conn.transaction():
            fresh = await inbox.claim(conn, CONNECTION_CHANGED, events)
            await conn.executemany(
                "INSERT INTO effects (event_id, version) VALUES ($1, $2)",
                [(e.id, e.data.version) for e in fresh],
            )
        if crash and fresh:
            os._exit(9)  # effect durable, offset not committed

    await ensure_topics(settings.kafka_bootstrap, settings.topic_partitions)
    broker = make_broker(settings, "crashy")
    Consumer(broker, settings, group, {CONNECTION_CHANGED: handle})
    await broker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def write_outbox(n: int, key: str) -> None:
    settings = KitSettings()
    pool = await _setup(settings)
    events = [
        Envelope.of(
            ConnectionChanged(
                connection_id=key,
                user_id="u",
                provider_name="sandbox",
                status="CONNECTED",
                version=i,
            ),
            connection_id=key,
        )
        for i in range(n)
    ]
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, events)
    os._exit(9)  # crash before any relay publishes


async def relay() -> None:
    settings = KitSettings()
    pool = await _setup(settings)
    await ensure_topics(settings.kafka_bootstrap, settings.topic_partitions)
    producer = outbox.make_producer(settings.kafka_bootstrap)
    await producer.start()
    r = outbox.OutboxRelay(settings.database_url, SCHEMA, producer)
    r.start()
    for _ in range(300):
        if await pool.fetchval("SELECT count(*) FROM outbox") == 0:
            break
        await asyncio.sleep(0.1)
    await r.stop()
    await producer.stop()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "consume":
        asyncio.run(consume(sys.argv[2]))
    elif mode == "write-outbox":
        asyncio.run(write_outbox(int(sys.argv[2]), sys.argv[3]))
    elif mode == "relay":
        asyncio.run(relay())
