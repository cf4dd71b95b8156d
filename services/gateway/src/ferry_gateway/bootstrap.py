"""Composition root of the gateway: builds every dependency, hands them in, closes them."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from ferry_kit.runtime import Runtime

from .api import create_api
from .repository import ProjectRepository
from .settings import Settings
from .upstream import Upstreams

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

__all__ = ["MIGRATIONS", "Service", "Settings", "start", "stop"]


@dataclass
class Service:
    runtime: Runtime
    upstreams: Upstreams
    stack: AsyncExitStack


async def start(settings: Settings) -> Service:
    stack = AsyncExitStack()
    try:
        runtime = Runtime("gateway", settings, MIGRATIONS)
        stack.push_async_callback(runtime.close)
        await runtime.open_database()
        upstreams = Upstreams.build(settings)
        stack.push_async_callback(upstreams.close)
        api = create_api(settings.max_body_bytes, settings.max_write_back_body_bytes)
        api.state.settings = settings
        api.state.projects = ProjectRepository(runtime.pool)
        api.state.upstreams = upstreams
        host = settings.internal_host if settings.bind_host is None else settings.bind_host
        await runtime.serve_http(api, host, settings.gateway_port)
    except BaseException:
        await stack.aclose()  # what was opened before the failing step closes again
        raise
    return Service(runtime, upstreams, stack)


async def stop(service: Service) -> None:
    await service.stack.aclose()
