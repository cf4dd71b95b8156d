"""Composition root of the gateway: builds every dependency, hands them in, closes them."""

from __future__ import annotations

from dataclasses import dataclass

from ferry_kit.bootstrap import Started, migrations_of, starting, stop
from ferry_kit.clock import SystemClock
from ferry_kit.dispatch import consumer_handlers
from ferry_kit.runtime import open_runtime
from ferry_kit.uow import UnitOfWorkFactory

from .api import create_api
from .handlers import HANDLERS
from .jobcache import JobBoard
from .keycache import CachedProjects
from .repository import JobCopies, ProjectRepository, prune_job_copies
from .settings import Settings
from .upstream import Upstreams

MIGRATIONS = migrations_of(__file__)

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


@dataclass
class Service(Started):
    upstreams: Upstreams


async def start(settings: Settings) -> Service:
    async with starting() as stack:
        runtime = await open_runtime(stack, "gateway", settings, MIGRATIONS, relay=False)
        jobs = UnitOfWorkFactory(runtime.pool, JobCopies)
        days = settings.history_retention_days
        runtime.add_chore("job copies", lambda conn: prune_job_copies(conn, days))
        board = JobBoard(jobs, SystemClock(), settings.job_copy_max_age_seconds)
        await runtime.start_consumer(consumer_handlers(HANDLERS, jobs, {"recent": board.recent}))
        upstreams = Upstreams.build(settings)
        stack.push_async_callback(upstreams.close)
        api = create_api(settings.max_body_bytes, settings.max_write_back_body_bytes)
        api.state.settings = settings
        api.state.projects = CachedProjects(ProjectRepository(runtime.pool),
                                            settings.key_cache_seconds)
        api.state.upstreams = upstreams
        api.state.job_board = board
        host = settings.internal_host if settings.bind_host is None else settings.bind_host
        await runtime.serve_http(api, host, settings.gateway_port)
        return Service(runtime, stack, upstreams)
