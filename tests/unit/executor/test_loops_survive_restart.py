"""The executor's claiming workers and lease sweeper outlive a database connection lost under
them (a Postgres restart): they claim and sweep again."""

from __future__ import annotations

import asyncio
import types

import pytest
from ferry_executor.runner import Runner
from ferry_executor.settings import Settings
from support.losing_pool import LosingPool, survives


@pytest.mark.parametrize("loop_name", ["_worker", "_sweeper"])
async def test_an_executor_loop_goes_on_after_the_connection_is_lost(loop_name):
    pool = LosingPool()
    settings = Settings(internal_token="t" * 16, executor_lease_seconds=0.3)
    jobs = types.SimpleNamespace(wake=asyncio.Event())
    runner = Runner(settings, pool, jobs, None, None, None)  # type: ignore[arg-type]
    await survives(pool, asyncio.create_task(getattr(runner, loop_name)()))
