"""Publishing events to, and collecting events from, the real broker in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from ferry_contracts import ConnectionChanged, Envelope
from ferry_contracts.topics import dump, parse


def connection_changed(key: str, version: int = 3) -> Envelope[Any]:
    """A `connection.changed` for connection `key`: the event the kit's consumer tests send."""
    payload = ConnectionChanged(
        connection_id=key, user_id="u", provider_name="sandbox", status="CONNECTED", version=version
    )
    return Envelope.of(payload, project_id="p", connection_id=key)


async def publish(bootstrap: str, topic: str, events: Sequence[Envelope[Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=1024 * 1024)
    await producer.start()
    try:
        for e in events:
            await producer.send(topic, dump(e), key=(e.connection_id or "").encode())
        await producer.flush()
    finally:
        await producer.stop()


class Collector:
    """Reads a topic from the beginning in the background, keeping the events that match."""

    def __init__(self, bootstrap: str, topic: str, match: Callable[[Envelope[Any]], bool]) -> None:
        self.bootstrap, self.topic, self.match = bootstrap, topic, match
        self.events: list[Envelope[Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        self._consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            group_id=None,
            max_poll_records=2000,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            for records in batch.values():
                for r in records:
                    try:
                        e = parse(r.value, self.topic)
                    except Exception:  # noqa: BLE001 - other tests' junk on a shared topic
                        continue
                    if self.match(e):
                        self.events.append(e)

    async def wait(self, n: int, timeout: float = 30.0) -> list[Envelope[Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.events) < n:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"{self.topic}: {len(self.events)} of {n} events after {timeout}s"
                )
            await asyncio.sleep(0.05)
        return self.events
