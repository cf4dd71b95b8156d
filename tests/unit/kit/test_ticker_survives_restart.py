"""The kit's polling loop (the scheduler's, among others) outlives a database connection lost
under it, as on a Postgres restart: asyncpg's InterfaceError is not a PostgresError."""

from __future__ import annotations

from ferry_kit.ticker import Ticker
from support.losing_pool import LosingPool, survives


async def test_a_ticker_goes_on_after_the_connection_is_lost():
    pool = LosingPool()

    async def tick() -> int:
        async with pool.acquire():
            return 0

    ticker = Ticker("test-loop", tick, full=100, idle_seconds=0.05)
    ticker.start()
    assert ticker._task is not None
    await survives(pool, ticker._task)
