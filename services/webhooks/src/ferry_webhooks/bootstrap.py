"""Composition root of the webhooks service: builds every dependency, hands them in, closes them."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpcore
from ferry_kit import internal
from ferry_kit.bootstrap import Started, migrations_of, starting, stop
from ferry_kit.dispatch import RequestRunner, consumer_handlers
from ferry_kit.runtime import open_runtime
from ferry_kit.uow import UnitOfWorkFactory

from . import guard
from .api import create_api
from .delivery import Deliverer
from .handlers import HANDLERS
from .owners import ConnectionsUsers
from .repository import PgRepository
from .settings import Settings

MIGRATIONS = migrations_of(__file__)

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


@dataclass
class Service(Started):
    deliverer: Deliverer


async def start(settings: Settings, resolve: guard.Resolve = guard.system_resolve,
                network: httpcore.AsyncNetworkBackend | None = None) -> Service:
    """`resolve` and `network` are for tests: a stub resolver, a backend that stays on loopback."""
    async with starting() as stack:
        connections = internal.client(settings.connections_url, settings.internal_token,
                                      timeout=5.0)
        stack.push_async_callback(connections.aclose)
        runtime = await open_runtime(stack, "webhooks", settings, MIGRATIONS, relay=False)
        uow = UnitOfWorkFactory(runtime.pool, PgRepository)
        deliverer = Deliverer(settings, runtime.pool, resolve, network)
        await deliverer.start()
        stack.push_async_callback(deliverer.stop)
        days = settings.history_retention_days

        async def prune(conn: asyncpg.Connection) -> int:
            return await PgRepository(conn).prune_finished(days)

        runtime.add_chore("finished messages", prune)
        deps = {"users": ConnectionsUsers(connections), "settings": settings, "resolve": resolve}
        await runtime.start_consumer(consumer_handlers(HANDLERS, uow, deps))
        api = create_api(RequestRunner(uow, deps), uow.read, settings.internal_token,
                         deliverer.wake)
        await runtime.serve_http(api, settings.internal_host, settings.webhooks_port)
        return Service(runtime, stack, deliverer)
