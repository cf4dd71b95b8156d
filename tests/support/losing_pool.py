"""A pool whose first connection dies under its user, as on a Postgres restart: asyncpg raises
InterfaceError from the transaction's exit. Later acquires fail too, but set `again`."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg


class LosingPool:
    def __init__(self, first: Exception | None = None) -> None:
        self.first = first or asyncpg.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection is closed")
        self.calls = 0
        self.again = asyncio.Event()

    @contextlib.asynccontextmanager
    async def acquire(self):
        self.calls += 1
        if self.calls == 1:
            raise self.first
        self.again.set()
        raise OSError("still down")
        yield  # pragma: no cover


async def survives(pool: LosingPool, loop: asyncio.Task) -> None:
    """The loop acquires again after the lost connection (it did not die of it)."""
    try:
        await asyncio.wait_for(pool.again.wait(), 8)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await loop
