"""Composition root of the connections service: builds every dependency, hands them in, closes
them."""

from __future__ import annotations

import httpx
from ferry_kit.bootstrap import Running, migrations_of, starting, stop
from ferry_kit.clock import SystemClock
from ferry_kit.runtime import open_runtime
from ferry_kit.uow import UnitOfWorkFactory

from .api import create_api
from .catalogue import Catalogue
from .crypto import Cipher
from .handlers import Commands
from .links import Links
from .repository import PgRepository
from .settings import Settings
from .views import Context

MIGRATIONS = migrations_of(__file__)

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


Service = Running[PgRepository]


async def start(settings: Settings) -> Service:
    # Refuse to start on a bad key configuration before touching anything.
    cipher = Cipher.from_settings(settings.token_keys, settings.token_active_key_id)
    catalogue = Catalogue.load()  # a definition that does not load stops the start, with its place
    async with starting() as stack:
        http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds, follow_redirects=False)
        stack.push_async_callback(http.aclose)
        runtime = await open_runtime(stack, "connections", settings, MIGRATIONS)
        uow = UnitOfWorkFactory(runtime.pool, PgRepository)
        clock, links = SystemClock(), Links(cipher, settings)
        context = Context(catalogue, links, clock, settings)
        deps = {"clock": clock, "settings": settings, "catalogue": catalogue, "cipher": cipher,
                "links": links, "http": http, "context": context}
        api = create_api(uow.read, Commands(uow, deps), context, settings.internal_token)
        await runtime.serve_http(api, settings.internal_host, settings.connections_port)
        return Service(runtime, stack, uow)
