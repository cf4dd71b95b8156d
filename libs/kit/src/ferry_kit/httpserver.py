"""A uvicorn server that wakes once a second when idle, and at once when told to exit.

uvicorn's own main loop wakes ten times a second to look at `should_exit` (and refreshes its
date header on every tenth wake): with seven servers in `ferry dev`, 70 wake-ups a second of a
platform doing nothing. Here the loop waits on an event set by `should_exit`, at most a second.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn

TICKS_PER_SECOND = 10  # uvicorn's counter: its date header is refreshed when counter % 10 == 0


class QuietServer(uvicorn.Server):
    _exit: asyncio.Event | None = None

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._exit is not None:
            self._exit.set()

    async def main_loop(self) -> None:
        self._exit = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + TICKS_PER_SECOND) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), 1.0)
