"""Composition root of the executor: builds every dependency, hands them in, closes them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from ferry_connectors import all_definitions
from ferry_connectors.transport import provider_http
from ferry_contracts.topics import SYNC_COMPLETED, SYNC_REQUESTED
from ferry_kit.bootstrap import Running, migrations_of, starting, stop
from ferry_kit.dispatch import command, consumer_handlers, use_case
from ferry_kit.runtime import open_runtime
from ferry_kit.uow import UnitOfWorkFactory

from . import handlers
from .api import Commands, create_api
from .job_run import RunDeps
from .provider import Budget, CredentialsClient
from .repository import PgRepository, prune_finished
from .runner import Runner, owner_name
from .settings import Settings
from .writeback import WriteBack

MIGRATIONS = migrations_of(__file__)

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]

T = TypeVar("T")


@dataclass
class Service(Running[PgRepository]):
    runner: Runner


def waking(step: Callable[..., Awaitable[T]], wake: asyncio.Event) -> Callable[..., Awaitable[T]]:
    """`step`, then wake the workers: after its commit, so a woken worker finds the new jobs."""

    async def run(*args: Any) -> T:
        result = await step(*args)
        wake.set()
        return result

    return run


async def start(settings: Settings) -> Service:
    async with starting() as stack:
        return await _start(settings, stack)


async def _start(settings: Settings, stack: AsyncExitStack) -> Service:
    credentials = CredentialsClient(settings.connections_url, settings.internal_token)
    stack.push_async_callback(credentials.close)
    http = provider_http(settings.provider_timeout_seconds, max_connections=100)
    stack.push_async_callback(http.aclose)
    runtime = await open_runtime(stack, "executor", settings, MIGRATIONS)
    all_definitions()  # parsed now, not at the first job
    uow = UnitOfWorkFactory(runtime.pool, PgRepository)
    budget = Budget(uow.read, settings.provider_requests_per_second, settings.provider_burst)
    wake = asyncio.Event()  # set when a job becomes runnable in this process
    deps = {"settings": settings, "connections": credentials}
    days = settings.history_retention_days
    runtime.add_chore("finished jobs", lambda conn: prune_finished(conn, days))
    consumer = consumer_handlers(handlers.HANDLERS, uow, deps)
    for topic in (SYNC_REQUESTED, SYNC_COMPLETED):
        consumer[topic] = waking(consumer[topic], wake)
    await runtime.start_consumer(consumer)
    # Pages go to the bus straight from the run (ids fixed per page, see domain.page_event_id)
    # instead of through an outbox row each: the checkpoint alone is written per page.
    producer = runtime.producer if settings.executor_publish_pages_directly else None
    runner = Runner(
        RunDeps(settings, uow, credentials, budget, http, producer, owner_name(uow)), wake,
        [command(handlers.requeue_expired, uow, deps),
         command(handlers.expire_finishing, uow, deps)],
    )
    runner.start()
    stack.push_async_callback(runner.stop)
    commands = Commands(
        request_sync=waking(use_case(handlers.request_sync, uow, deps), wake),
        cancel=use_case(handlers.cancel_job, uow, deps),
        write=WriteBack(uow, credentials, budget, http),
    )
    api = create_api(uow.read, commands, settings.internal_token)
    await runtime.serve_http(api, settings.internal_host, settings.executor_port)
    return Service(runtime, stack, uow, runner)
