"""Composition root of the scheduler: builds every dependency, hands them in, closes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ferry_kit.bootstrap import Running, migrations_of, starting, stop
from ferry_kit.clock import SystemClock
from ferry_kit.dispatch import command, consumer_handlers
from ferry_kit.runtime import open_runtime
from ferry_kit.ticker import Ticker
from ferry_kit.uow import UnitOfWorkFactory

from .api import create_api
from .handlers import HANDLERS, fire_due
from .repository import PgRepository, prune_finished_jobs
from .settings import Settings

MIGRATIONS = migrations_of(__file__)

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


@dataclass
class Service(Running[PgRepository]):
    ticker: Ticker


async def start(settings: Settings) -> Service:
    async with starting() as stack:
        runtime = await open_runtime(stack, "scheduler", settings, MIGRATIONS)
        uow = UnitOfWorkFactory(runtime.pool, PgRepository)
        clock = SystemClock()
        deps = {"clock": clock, "settings": settings}
        keep = timedelta(days=settings.history_retention_days)
        runtime.add_chore("finished jobs",
                          lambda conn: prune_finished_jobs(conn, clock.now() - keep))
        await runtime.start_consumer(consumer_handlers(HANDLERS, uow, deps))
        ticker = Ticker("scheduler-loop", command(fire_due, uow, deps),
                        full=settings.scheduler_batch_size,
                        idle_seconds=settings.scheduler_poll_seconds)
        ticker.start()
        stack.push_async_callback(ticker.stop)
        api = create_api(uow.read, settings.internal_token)
        await runtime.serve_http(api, settings.internal_host, settings.scheduler_port)
        return Service(runtime, stack, uow, ticker)
