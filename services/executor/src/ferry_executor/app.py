"""Composition root of the executor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from ferry_kit.runtime import Runtime

from . import repository as repo
from .api import create_api
from .provider import Budget, CredentialsClient
from .runner import Runner
from .service import Jobs
from .settings import Settings
from .subscribers import handlers
from .writeback import WriteBack

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass
class Service:
    runtime: Runtime
    runner: Runner
    credentials: CredentialsClient
    http: httpx.AsyncClient
    jobs: Jobs


async def start(settings: Settings) -> Service:
    runtime = Runtime("executor", settings, MIGRATIONS)
    await runtime.open_database()
    await runtime.start_relay()
    jobs = Jobs(runtime.pool)
    credentials = CredentialsClient(settings.connections_url, settings.internal_token)
    http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds,
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    budget = Budget(runtime.pool, settings.provider_requests_per_second, settings.provider_burst)
    runner = Runner(settings, runtime.pool, jobs, credentials, budget, http, runtime.producer)
    days = settings.history_retention_days
    runtime.add_chore("finished jobs", lambda conn: repo.prune_finished(conn, days))
    await runtime.start_consumer(handlers(jobs))
    runner.start()
    await runtime.serve_http(create_api(jobs, WriteBack(runtime.pool, credentials, budget, http), settings.internal_token),
                             settings.internal_host, settings.executor_port)
    return Service(runtime, runner, credentials, http, jobs)


async def stop(service: Service) -> None:
    await service.runner.stop()
    await service.runtime.close()
    await service.credentials.close()
    await service.http.aclose()
