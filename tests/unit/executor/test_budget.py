"""A connection's request budget: the provider's stored "retry after" honoured without a
Postgres read before every request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from ferry_executor import domain
from ferry_executor.provider import Budget


class Blocks:
    """The `rate_limits` table of the repository, counting its reads."""

    def __init__(self) -> None:
        self.until: dict[str, datetime] = {}
        self.reads = 0

    async def blocked_until(self, connection_id: str) -> datetime | None:
        self.reads += 1
        until = self.until.get(connection_id)
        return until if until is not None and until > domain.utcnow() else None

    async def block(self, connection_id: str, seconds: float) -> None:
        self.until[connection_id] = domain.utcnow() + timedelta(seconds=seconds)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Blocks]:
        yield self


def _budget(blocks: Blocks, recheck: float) -> Budget:
    return Budget(blocks.read, override_rate=1000.0, override_burst=1000,  # type: ignore[arg-type]
                  recheck_seconds=recheck)


def test_the_stored_block_is_read_once_per_recheck_period_not_per_request():
    async def go() -> int:
        blocks = Blocks()
        budget = _budget(blocks, recheck=60.0)
        for _ in range(50):
            await budget.acquire("c1")
        return blocks.reads

    assert asyncio.run(go()) == 1


def test_a_block_this_process_sets_is_waited_out_by_the_next_request():
    async def go() -> float:
        blocks = Blocks()
        budget = _budget(blocks, recheck=60.0)
        await budget.acquire("c1")
        await budget.slow_down("c1", 0.3)
        started = time.monotonic()
        await budget.acquire("c1")
        return time.monotonic() - started

    assert asyncio.run(go()) >= 0.25


def test_a_block_another_process_stored_is_honoured_after_the_recheck_period():
    async def go() -> tuple[float, float]:
        blocks = Blocks()
        budget = _budget(blocks, recheck=0.1)
        await budget.acquire("c1")
        await blocks.block("c1", 0.4)  # another executor met the provider's 429
        started = time.monotonic()
        await budget.acquire("c1")  # within the recheck period: not seen yet
        unseen = time.monotonic() - started
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await budget.acquire("c1")
        return unseen, time.monotonic() - started

    unseen, waited = asyncio.run(go())
    assert unseen < 0.1
    assert waited >= 0.2
