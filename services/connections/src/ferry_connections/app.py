"""Composition root of the connections service."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import httpx
from ferry_kit.runtime import Runtime

from .api import create_api
from .catalogue import Catalogue
from .connect import ConnectFlow
from .credentials import Credentials
from .crypto import Cipher
from .service import Connections
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass
class Service:
    runtime: Runtime
    connections: Connections
    http: httpx.AsyncClient


async def start(settings: Settings) -> Service:
    # Refuse to start on a bad key configuration before touching anything.
    cipher = Cipher.from_settings(settings.token_keys, settings.token_active_key_id)
    catalogue = Catalogue.load()  # a definition that does not load stops the start, with its place
    runtime = Runtime("connections", settings, MIGRATIONS)
    http = httpx.AsyncClient(timeout=settings.provider_timeout_seconds, follow_redirects=False)
    try:
        await runtime.open_database()
        await runtime.start_relay()
        connections = Connections(settings, runtime.pool, cipher, catalogue, http)
        app = create_api(connections, ConnectFlow(connections, settings, http),
                         Credentials(connections, settings, http), settings.internal_token)
        await runtime.serve_http(app, settings.internal_host, settings.connections_port)
    except BaseException:
        await runtime.close()
        await http.aclose()
        raise
    return Service(runtime, connections, http)


async def stop(service: Service) -> None:
    await service.runtime.close()
    with contextlib.suppress(Exception):
        await service.http.aclose()
