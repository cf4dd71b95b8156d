"""The executor's claiming workers and lease sweeper outlive a database connection lost under
them (a Postgres restart): they claim and sweep again."""

from __future__ import annotations

import asyncio

import pytest
from ferry_executor import handlers
from ferry_executor.job_run import RunDeps
from ferry_executor.repository import PgRepository
from ferry_executor.runner import Runner
from ferry_executor.settings import Settings
from ferry_kit.dispatch import command
from ferry_kit.uow import UnitOfWorkFactory
from support.losing_pool import LosingPool, survives


class Pool:
    """The losing pool as a unit of work acquires connections (`await pool.acquire()`)."""

    def __init__(self, losing: LosingPool) -> None:
        self.losing = losing

    async def acquire(self) -> None:
        async with self.losing.acquire():
            pass


@pytest.mark.parametrize("loop_name", ["_worker", "_sweeper"])
async def test_an_executor_loop_goes_on_after_the_connection_is_lost(loop_name):
    pool = LosingPool()
    settings = Settings(internal_token="t" * 16, executor_lease_seconds=0.3)
    uow = UnitOfWorkFactory(Pool(pool), PgRepository)  # type: ignore[arg-type]
    deps = RunDeps(settings, uow, None, None, None, None, "test:1")  # type: ignore[arg-type]
    sweeps = [command(handlers.requeue_expired, uow, {})]
    runner = Runner(deps, asyncio.Event(), sweeps)
    await survives(pool, asyncio.create_task(getattr(runner, loop_name)()))
