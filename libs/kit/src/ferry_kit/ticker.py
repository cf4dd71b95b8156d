"""A background loop for polling work (due schedules, retries): again at once while busy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from . import logging as klog

log = klog.get("ferry.ticker")


class Ticker:
    """Runs `tick()` (which returns how much it did) again at once while it did a full batch,
    otherwise after `idle_seconds`. Database and network failures are logged and retried."""

    def __init__(
        self, name: str, tick: Callable[[], Awaitable[int]], *, full: int, idle_seconds: float
    ) -> None:
        self.name = name
        self._tick = tick
        self._full = full
        self._idle = idle_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                done = await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a database lost mid-tick (a restart) raises
                # InterfaceError or InternalClientError besides PostgresError: the loop lives on
                log.warning("tick failed", loop=self.name, error=str(exc))
                done = 0
            if done < self._full:
                await asyncio.sleep(self._idle)
