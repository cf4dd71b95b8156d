"""Composition root of the connections service: builds every dependency, hands them in, closes
them."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from ferry_kit.clock import SystemClock
from ferry_kit.runtime import Runtime
from ferry_kit.uow import UnitOfWorkFactory

from .api import create_api
from .catalogue import Catalogue
from .crypto import Cipher
from .handlers import Commands
from .links import Links
from .repository import PgRepository
from .settings import Settings
from .views import Context

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


@dataclass
class Service:
    runtime: Runtime
    uow: UnitOfWorkFactory[PgRepository]
    stack: AsyncExitStack


async def start(settings: Settings) -> Service:
    # Refuse to start on a bad key configuration before touching anything.
    cipher = Cipher.from_settings(settings.token_keys, settings.token_active_key_id)
    catalogue = Catalogue.load()  # a definition that does not load stops the start, with its place
    stack = AsyncExitStack()
    try:
        http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds, follow_redirects=False)
        stack.push_async_callback(http.aclose)
        runtime = Runtime("connections", settings, MIGRATIONS)
        stack.push_async_callback(runtime.close)
        await runtime.open_database()
        await runtime.start_relay()
        uow = UnitOfWorkFactory(runtime.pool, PgRepository)
        clock, links = SystemClock(), Links(cipher, settings)
        context = Context(catalogue, links, clock, settings)
        deps = {"clock": clock, "settings": settings, "catalogue": catalogue, "cipher": cipher,
                "links": links, "http": http, "context": context}
        api = create_api(uow.read, Commands(uow, deps), context, settings.internal_token)
        await runtime.serve_http(api, settings.internal_host, settings.connections_port)
    except BaseException:
        await stack.aclose()  # what was opened before the failing step closes again
        raise
    return Service(runtime, uow, stack)


async def stop(service: Service) -> None:
    await service.stack.aclose()
