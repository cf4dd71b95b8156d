"""Composition root of the records service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ferry_kit.runtime import Runtime

from . import repository as repo
from .api import create_api
from .service import Records
from .settings import Settings
from .subscribers import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass
class Service:
    runtime: Runtime
    records: Records


async def start(settings: Settings) -> Service:
    runtime = Runtime("records", settings, MIGRATIONS)
    await runtime.open_database()
    await runtime.start_relay()
    records = Records(settings, runtime.pool)
    days = settings.history_retention_days
    runtime.add_chore("job counts", lambda conn: repo.prune_jobs(conn, days))
    await runtime.start_consumer(handlers(records), max_records=settings.records_max_pages)
    await runtime.serve_http(create_api(records, settings.internal_token), settings.internal_host, settings.records_port)
    return Service(runtime, records)


async def stop(service: Service) -> None:
    await service.runtime.close()
