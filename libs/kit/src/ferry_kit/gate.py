"""A process-wide pause of publishing: lets `ferry dev` recreate a drained topic of the embedded
broker (which keeps every message in memory) with no event published into the gap."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class PublishGate:
    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0

    @contextlib.asynccontextmanager
    async def publishing(self) -> AsyncIterator[None]:
        """Held around a publish until the broker acknowledged it."""
        await self._open.wait()
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No publish starts, and every publish under way has been acknowledged, inside."""
        self._open.clear()
        try:
            await self._idle.wait()
            yield
        finally:
            self._open.set()


GATE = PublishGate()
