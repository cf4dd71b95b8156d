"""A consumer's fetch wait: short while events flow, long once its topics have been quiet.

Tansu holds an idle fetch for its whole wait even when data arrives meanwhile, so the wait is the
event latency of a quiet consumer; and every empty fetch costs the broker and the service CPU
(five consumers at 50 ms: ~9% of a core in `ferry dev`, doing nothing). A consumer that saw
records within `idle_after` seconds fetches with the short wait; after that, with the long one,
and the first batch switches it back. Apache Kafka answers a fetch as soon as data arrives, so
there both waits may be long at no cost in latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from . import logging as klog
from .settings import KitSettings

log = klog.get("ferry.fetchpace")


class FetchPace:
    def __init__(self, settings: KitSettings) -> None:
        self.busy_ms = settings.kafka_fetch_max_wait_ms
        self.idle_ms = max(settings.kafka_idle_fetch_max_wait_ms, self.busy_ms)
        self.idle_after = settings.kafka_idle_after_seconds
        self._fetcher: Any = None
        self._last = time.monotonic()
        self._idle = False
        self._task: asyncio.Task[None] | None = None

    def start(self, consumer: Any) -> None:
        """Pace `consumer` (an AIOKafkaConsumer, started). The wait is the fetcher's own
        attribute (aiokafka 0.14 reads it for each request); without one, nothing changes."""
        fetcher = getattr(consumer, "_fetcher", None)
        if self.idle_ms == self.busy_ms or not hasattr(fetcher, "_fetch_max_wait_ms"):
            return
        self._fetcher = fetcher
        self._task = asyncio.create_task(self._watch(), name="fetch-pace")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def active(self) -> None:
        """Records arrived: fetch with the short wait again."""
        self._last = time.monotonic()
        if self._idle:
            self._set(self.busy_ms, idle=False)

    def _set(self, wait_ms: int, *, idle: bool) -> None:
        self._idle = idle
        if self._fetcher is not None:
            self._fetcher._fetch_max_wait_ms = wait_ms

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.idle_after / 2)
            if not self._idle and time.monotonic() - self._last >= self.idle_after:
                self._set(self.idle_ms, idle=True)
