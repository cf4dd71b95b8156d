"""The kit's consumer reads: an empty read goes round at once, with a long wait at the fetcher.

FastStream's own batch read waits 100 ms and then sleeps 100 ms after an empty one: ten wake-ups
a second of every idle consumer, and up to 100 ms added to the first event after a quiet spell.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from faststream.kafka import KafkaBroker
from ferry_kit.broker import READ_WAIT_MS, Consumer
from ferry_kit.settings import KitSettings


class FakeConsumer:
    """An AIOKafkaConsumer's `getmany`: empty reads, then one with records of two partitions."""

    def __init__(self, results: list[dict[str, list[str]]]) -> None:
        self.results = results
        self.calls: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[str, list[str]]:
        self.calls.append((timeout_ms, max_records))
        await asyncio.sleep(0)
        return self.results.pop(0)


def consumer(max_records: int = 7) -> Consumer:
    settings = KitSettings(internal_token="x" * 16)  # type: ignore[call-arg]

    async def handler(batch: list[Any]) -> None:
        return None

    return Consumer(KafkaBroker("127.0.0.1:1"), settings, "g", {"sync.requested": handler},
                    max_records=max_records)


async def test_an_empty_read_returns_at_once_and_waits_long_at_the_fetcher() -> None:
    fake = FakeConsumer([{}, {}, {"p0": ["a", "b"], "p1": ["c"]}])
    subscriber = consumer().subscriber
    started = time.monotonic()
    assert await subscriber.get_msg(fake) == ()
    assert await subscriber.get_msg(fake) == ()
    assert await subscriber.get_msg(fake) == ("a", "b", "c")
    assert time.monotonic() - started < 0.05  # no sleep after an empty read
    assert fake.calls == [(READ_WAIT_MS, 7)] * 3
    assert READ_WAIT_MS >= 5_000
