"""The scheduler's loop outlives a database connection lost under it (a Postgres restart)."""

from __future__ import annotations

import asyncio

from ferry_scheduler.service import Scheduler
from ferry_scheduler.settings import Settings
from support.losing_pool import LosingPool, survives


async def test_the_scheduler_loop_goes_on_after_the_connection_is_lost():
    pool = LosingPool()
    scheduler = Scheduler(Settings(internal_token="t" * 16, scheduler_poll_seconds=0.05), pool)
    await survives(pool, asyncio.create_task(scheduler._loop()))
