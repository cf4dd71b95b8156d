"""Composition root of the scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ferry_kit.runtime import Runtime

from .api import create_api
from .service import Scheduler
from .settings import Settings
from .subscribers import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass
class Service:
    runtime: Runtime
    scheduler: Scheduler


async def start(settings: Settings) -> Service:
    runtime = Runtime("scheduler", settings, MIGRATIONS)
    await runtime.open_database()
    await runtime.start_relay()
    scheduler = Scheduler(settings, runtime.pool)
    await runtime.start_consumer(handlers(scheduler))
    scheduler.start()
    await runtime.serve_http(create_api(runtime.pool, settings.internal_token), settings.internal_host, settings.scheduler_port)
    return Service(runtime, scheduler)


async def stop(service: Service) -> None:
    await service.scheduler.stop()
    await service.runtime.close()
