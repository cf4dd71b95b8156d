"""Composition root of the gateway."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ferry_kit.runtime import Runtime

from .api import create_api
from .repository import ProjectRepository
from .settings import Settings
from .upstream import Upstreams

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@dataclass
class Service:
    runtime: Runtime
    upstreams: Upstreams


async def start(settings: Settings) -> Service:
    runtime = Runtime("gateway", settings, MIGRATIONS)
    await runtime.open_database()
    api = create_api(settings.max_body_bytes, settings.max_write_back_body_bytes)
    upstreams = Upstreams.build(settings)
    api.state.settings = settings
    api.state.projects = ProjectRepository(runtime.pool)
    api.state.upstreams = upstreams
    await runtime.serve_http(api, settings.internal_host if settings.bind_host is None else settings.bind_host, settings.gateway_port)
    return Service(runtime, upstreams)


async def stop(service: Service) -> None:
    await service.runtime.close()
    await service.upstreams.close()
