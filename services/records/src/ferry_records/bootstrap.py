"""Composition root of the records service: builds every dependency, hands them in, closes them."""

from __future__ import annotations

import gc

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

# Young objects between two collections of the youngest generation (CPython's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """An ingest makes some twenty containers per record (its dict, its event, the event's
    dicts...) and keeps a group's records alive until the group commits: at CPython's default
    threshold each of them is traversed again and again as it ages, along with every object of
    the imported libraries: building a changed record's event cost a third more CPU (measured
    with 10,000 records, 2026-12-02). The objects alive once started are frozen out of
    collections (they live as long as the process), and the youngest generation is collected
    less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


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
        tune_gc()
        return Service(runtime, stack, uow)
