"""Composition root of the scheduler: builds every dependency, hands them in, closes them."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ferry_kit.clock import SystemClock
from ferry_kit.dispatch import command, consumer_handlers
from ferry_kit.runtime import Runtime
from ferry_kit.ticker import Ticker
from ferry_kit.uow import UnitOfWorkFactory

from .api import create_api
from .handlers import HANDLERS, fire_due
from .repository import PgRepository, prune_finished_jobs
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


@dataclass
class Service:
    runtime: Runtime
    uow: UnitOfWorkFactory[PgRepository]
    ticker: Ticker
    stack: AsyncExitStack


async def start(settings: Settings) -> Service:
    stack = AsyncExitStack()
    try:
        runtime = Runtime("scheduler", settings, MIGRATIONS)
        stack.push_async_callback(runtime.close)
        await runtime.open_database()
        await runtime.start_relay()
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
    except BaseException:
        await stack.aclose()  # what was opened before the failing step closes again
        raise
    return Service(runtime, uow, ticker, stack)


async def stop(service: Service) -> None:
    await service.stack.aclose()
