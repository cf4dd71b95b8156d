"""A consumer's fetch wait: short while events flow, longer the longer its topics stay quiet.

Tansu does not answer a held fetch as soon as data arrives: it looks again at half its wait, then
at three quarters, seven eighths... (measured on 0.6.0), so an event reaching a quiet consumer
waits ~1/6 of the wait on average, at most half of it (2 s wait: p50 ~0.3 s, max ~0.9 s; 5 s:
p50 1.1 s, max 2.1 s). And every empty fetch costs the broker ~1 ms of CPU plus ~0.1 ms per
topic, and the service a wake-up (four consumers of eight topics fetching every 500 ms: 1.6% of
a core of the broker alone, doing nothing; every 60 s: 0.1%). A consumer that saw records
within `idle_after` seconds fetches with the short wait; after that with the idle wait, doubled
for every further `idle_after` seconds of quiet up to the longest idle wait; the first batch
switches it back. Apache Kafka answers a fetch as soon as data arrives, so there every wait may be
long at no cost in latency.

aiokafka's fetcher loop also wakes every `fetcher_timeout` (0.2 s) while its fetch is in flight,
to look for work it is woken for anyway (a finished fetch, records consumed, a rebalance): five
wake-ups a second of each idle consumer. The loop's timeout follows the wait (never below
aiokafka's own): a quiet consumer's loop wakes about once per fetch.
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
        self.max_idle_ms = max(settings.kafka_max_idle_fetch_max_wait_ms, self.idle_ms)
        self.idle_after = settings.kafka_idle_after_seconds
        self._fetcher: Any = None
        self._loop_timeout = 0.0  # aiokafka's own fetcher timeout, seconds (read at start)
        self._last = time.monotonic()
        self.wait_ms = self.busy_ms
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, consumer: Any) -> None:
        """Pace `consumer` (an AIOKafkaConsumer, started). The wait and the loop's timeout are
        the fetcher's own attributes (aiokafka 0.14 reads them for each request and each turn of
        its loop); without them, nothing changes."""
        fetcher = getattr(consumer, "_fetcher", None)
        if self.max_idle_ms == self.busy_ms or not hasattr(fetcher, "_fetch_max_wait_ms"):
            return
        self._fetcher = fetcher
        self._loop_timeout = getattr(fetcher, "_fetcher_timeout", 0.0)
        self._task = asyncio.create_task(self._watch(), name="fetch-pace")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def active(self) -> None:
        """Records arrived: fetch with the short wait again."""
        self._last = time.monotonic()
        if self.wait_ms != self.busy_ms:
            self._set(self.busy_ms)
            self._woken.set()

    def wait_after(self, quiet: float) -> int:
        """The fetch wait after `quiet` seconds without records."""
        if quiet < self.idle_after:
            return self.busy_ms
        doublings = int(quiet / self.idle_after) - 1
        return min(self.max_idle_ms, self.idle_ms << min(doublings, 30))

    def _set(self, wait_ms: int) -> None:
        self.wait_ms = wait_ms
        if self._fetcher is not None:
            self._fetcher._fetch_max_wait_ms = wait_ms
            if self._loop_timeout:
                self._fetcher._fetcher_timeout = max(self._loop_timeout, wait_ms / 1000)

    async def _watch(self) -> None:
        """Lengthen the wait at each step of quiet; once at the longest, sleep until woken."""
        while True:
            self._woken.clear()
            quiet = time.monotonic() - self._last
            wait = self.wait_after(quiet)
            if wait != self.wait_ms:
                self._set(wait)
            if wait >= self.max_idle_ms:
                await self._woken.wait()
                continue
            next_step = (int(quiet / self.idle_after) + 1) * self.idle_after
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), next_step - quiet)
