"""Composition root of the webhooks service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx
from ferry_kit import internal
from ferry_kit.runtime import Runtime

from . import guard
from . import repository as repo
from .api import create_api
from .delivery import Deliverer
from .service import ConnectionsUsers, Webhooks
from .settings import Settings
from .subscribers import handlers

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass
class Service:
    runtime: Runtime
    webhooks: Webhooks
    deliverer: Deliverer
    connections: httpx.AsyncClient


async def start(settings: Settings, resolve: guard.Resolve = guard.system_resolve,
                network: httpcore.AsyncNetworkBackend | None = None) -> Service:
    """`resolve` and `network` are for tests: a stub resolver, a backend that stays on loopback."""
    runtime = Runtime("webhooks", settings, MIGRATIONS)
    await runtime.open_database()
    connections = internal.client(settings.connections_url, settings.internal_token, timeout=5.0)
    webhooks = Webhooks(settings, runtime.pool, ConnectionsUsers(connections), resolve)
    deliverer = Deliverer(settings, runtime.pool, resolve, network)
    await deliverer.start()
    days = settings.history_retention_days
    runtime.add_chore("finished messages", lambda conn: repo.prune_finished(conn, days))
    await runtime.start_consumer(handlers(webhooks))
    await runtime.serve_http(create_api(webhooks, deliverer, runtime.pool, settings.internal_token),
                             settings.internal_host, settings.webhooks_port)
    return Service(runtime, webhooks, deliverer, connections)


async def stop(service: Service) -> None:
    await service.deliverer.stop()
    await service.runtime.close()
    await service.connections.aclose()
