"""Composition root of the records service: builds every dependency, hands them in, closes them."""

from __future__ import annotations

import asyncpg
from ferry_kit.bootstrap import Running, migrations_of, starting, stop
from ferry_kit.clock import SystemClock
from ferry_kit.dispatch import consumer_handlers, use_case
from ferry_kit.runtime import open_runtime
from ferry_kit.uow import UnitOfWorkFactory

from .api import create_api
from .handlers import HANDLERS, confirm_deletions
from .repository import PgRepository
from .settings import Settings

MIGRATIONS = migrations_of(__file__)

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


Service = Running[PgRepository]


async def start(settings: Settings) -> Service:
    async with starting() as stack:
        runtime = await open_runtime(stack, "records", settings, MIGRATIONS)
        uow = UnitOfWorkFactory(runtime.pool, PgRepository)
        deps = {"clock": SystemClock(), "settings": settings}
        days = settings.history_retention_days

        async def prune_jobs(conn: asyncpg.Connection) -> int:
            return await PgRepository(conn).prune_jobs(days)

        runtime.add_chore("job counts", prune_jobs)
        await runtime.start_consumer(consumer_handlers(HANDLERS, uow, deps),
                                     max_records=settings.records_max_pages)
        api = create_api(uow.read, use_case(confirm_deletions, uow, deps), settings.internal_token)
        await runtime.serve_http(api, settings.internal_host, settings.records_port)
        return Service(runtime, stack, uow)
