"""From a service's table of typed handlers to the kit consumer's topic handlers.

A handler is `async def on_<event>(event: Envelope[Payload], uow: UnitOfWork[R], **deps)`.
The kit opens one unit of work per batch of one topic, claims the batch in the inbox, calls the
handler for each fresh event and commits: a handler cannot skip the inbox, and whatever it
emits is written to the outbox in that same transaction.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from ferry_contracts import Envelope

from .broker import Handler
from .uow import UnitOfWork

R = TypeVar("R")
T = TypeVar("T")
EventHandler = Callable[..., Awaitable[None]]
BoundHandler = Callable[[Envelope[Any], UnitOfWork[Any]], Awaitable[None]]
UnitOfWorkMaker = Callable[[], UnitOfWork[R]]


class MissingDependency(TypeError):
    """A handler asks for a dependency that the service's bootstrap does not provide."""


def bind(handler: Callable[..., Any], deps: Mapping[str, object], skip: int = 2) -> Any:
    """Fill a handler's parameters after `(event, uow)` (the first `skip`) from `deps`, by
    name, once at start."""
    names = list(inspect.signature(handler).parameters)[skip:]
    missing = [n for n in names if n not in deps]
    if missing:
        raise MissingDependency(f"{handler.__qualname__} needs {', '.join(missing)}")
    return functools.partial(handler, **{n: deps[n] for n in names})


def consumer_handlers(
    table: Mapping[str, EventHandler],
    uow: UnitOfWorkMaker[Any],
    deps: Mapping[str, object],
) -> dict[str, Handler]:
    """The `{topic: handler}` map for `Runtime.start_consumer`, from `{topic: typed handler}`."""
    return {topic: _batch_handler(bind(handler, deps), uow) for topic, handler in table.items()}


def command(
    handler: Callable[..., Awaitable[T]], uow: UnitOfWorkMaker[Any], deps: Mapping[str, object]
) -> Callable[[], Awaitable[T]]:
    """`handler(uow, **deps)` run in its own unit of work, committed when it returns."""
    bound = bind(handler, deps, skip=1)

    async def run() -> T:
        async with uow() as unit:
            result: T = await bound(unit)
            await unit.commit()
        return result

    return run


def use_case(
    handler: Callable[..., Awaitable[T]], uow: UnitOfWorkMaker[Any], deps: Mapping[str, object]
) -> Callable[[Any], Awaitable[T]]:
    """`handler(command, uow, **deps)` run in its own unit of work, committed when it returns
    (an API route's one call); an exception rolls it back."""
    bound = bind(handler, deps)

    async def run(arg: Any) -> T:
        async with uow() as unit:
            result: T = await bound(arg, unit)
            await unit.commit()
        return result

    return run


def _batch_handler(handler: BoundHandler, make_uow: UnitOfWorkMaker[Any]) -> Handler:
    async def handle(events: list[Envelope[Any]]) -> None:
        async with make_uow() as uow:
            for event in await uow.claim_all(events):
                await handler(event, uow)
            await uow.commit()

    return handle
