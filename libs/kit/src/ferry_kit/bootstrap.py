"""What every service's composition root (`ferry_<svc>/bootstrap.py`) shares: where its
migrations are, the started service (its runtime and what its start opened), a start that
closes again what it opened when a later step fails, and the one `stop`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from .runtime import Runtime
from .uow import UnitOfWorkFactory

R = TypeVar("R")


def migrations_of(module_file: str) -> Path:
    """`services/<svc>/migrations` for a module at `services/<svc>/src/ferry_<svc>/<module>.py`."""
    return Path(module_file).resolve().parents[2] / "migrations"


@dataclass
class Started:
    """A running service: a bootstrap's `Service` adds what its tests and tools look at."""

    runtime: Runtime
    stack: AsyncExitStack


@dataclass
class Running(Started, Generic[R]):
    """A running service with its units of work (`uow.read()` for its views)."""

    uow: UnitOfWorkFactory[R]


@asynccontextmanager
async def starting() -> AsyncIterator[AsyncExitStack]:
    """The exit stack of a start: each step pushes how to close what it opened; a failing step
    closes what the earlier ones opened (in reverse), then raises. On success `stop` closes it."""
    stack = AsyncExitStack()
    try:
        yield stack
    except BaseException:
        await stack.aclose()
        raise


async def stop(service: Started) -> None:
    await service.stack.aclose()
