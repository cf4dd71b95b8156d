"""`ferry dev`'s topic rollover: a drained topic is recreated and no event is lost around it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.topics import CONNECTION_CHANGED
from ferry_kit import outbox
from ferry_kit.infra import EmbeddedBroker
from ferry_kit.runtime import Runtime
from ferry_kit.settings import KitSettings

from ferry_cli.rollover import TopicRollover

EMPTY = Path(__file__).parent / "no_migrations"


def _event(i: int) -> Envelope:
    return Envelope.of(
        ConnectionChanged(
            connection_id="c-1", user_id="u", provider_name="sandbox", status="CONNECTED", version=i
        ),
        project_id="p",
        connection_id="c-1",
    )


async def _until(check, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_a_drained_topic_is_recreated_and_its_consumer_reads_on_from_the_new_start(
    service_env, scratch_schema
):
    conn = await scratch_schema(EMPTY)
    broker = EmbeddedBroker().start()  # its own: the topic goes away for a moment
    runtime = Runtime(
        await conn.fetchval("SELECT current_schema()"),
        KitSettings(kafka_bootstrap=broker.bootstrap, topic_partitions=2),
        EMPTY,
    )
    seen: list[int] = []

    async def handle(events):
        seen.extend(e.data.version for e in events)

    try:
        await runtime.open_database()
        await runtime.start_relay()
        await runtime.start_consumer({CONNECTION_CHANGED: handle})
        rollover = TopicRollover(broker.bootstrap, 2, [runtime], min_messages=5)
        await outbox.publish_now(runtime.producer, [_event(i) for i in range(10)])

        async def rolled() -> bool:
            return CONNECTION_CHANGED in await rollover.roll_drained()

        await _until(rolled)
        await outbox.publish_now(runtime.producer, [_event(i) for i in range(10, 15)])

        async def all_seen() -> bool:
            return len(seen) >= 15

        await _until(all_seen)
        assert sorted(seen) == list(range(15))  # nothing lost, nothing twice
        assert rollover.rolled == 1
    finally:
        await runtime.close()
        broker.stop()
