"""An idle consumer on the real broker, paced: its fetcher loop (aiokafka's) turns about once
per fetch, not five times a second."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from ferry_contracts.topics import CONNECTION_CHANGED
from ferry_kit.broker import ensure_topics
from ferry_kit.fetchpace import FetchPace
from ferry_kit.settings import KitSettings


async def _turns(consumer: AIOKafkaConsumer, seconds: float) -> int:
    """How often the fetcher loop looks for work in `seconds`."""
    fetcher = consumer._fetcher
    real, count = fetcher._get_actions_per_node, [0]

    def counted(assignment):  # type: ignore[no-untyped-def]
        count[0] += 1
        return real(assignment)

    fetcher._get_actions_per_node = counted
    try:
        await asyncio.sleep(seconds)
    finally:
        fetcher._get_actions_per_node = real
    return count[0]


async def test_an_idle_paced_consumer_wakes_about_once_per_fetch(infra, service_env, unique):
    settings = KitSettings(kafka_fetch_max_wait_ms=50, kafka_idle_fetch_max_wait_ms=1000,
                           kafka_max_idle_fetch_max_wait_ms=1000, kafka_idle_after_seconds=0.5)
    await ensure_topics(infra.bootstrap, 1, [CONNECTION_CHANGED])
    consumer = AIOKafkaConsumer(CONNECTION_CHANGED, bootstrap_servers=infra.bootstrap,
                                group_id=f"pace-{unique}", fetch_max_wait_ms=50,
                                auto_offset_reset="latest", session_timeout_ms=6000,
                                heartbeat_interval_ms=2000)
    await consumer.start()
    pace = FetchPace(settings)
    reading = asyncio.create_task(consumer.getmany(timeout_ms=60_000))
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        pace.start(consumer)
        await asyncio.sleep(1.5)  # quiet: the wait is now 1 s
        assert consumer._fetcher._fetch_max_wait_ms == 1000
        turns = await _turns(consumer, 4.0)
        # One turn per finished fetch (four or five in 4 s); aiokafka's 0.2 s timeout: 20 more.
        assert 2 <= turns <= 8, turns
    finally:
        reading.cancel()
        await pace.stop()
        await consumer.stop()
