"""From a service's table of typed handlers to the kit consumer's topic handlers.

A handler is `async def on_<event>(event: Envelope[Payload], uow: UnitOfWork[R], **deps)`.
The kit opens one unit of work per batch of one topic, claims the batch in the inbox, calls the
handler for each fresh event and commits: a handler cannot skip the inbox, and whatever it
emits is written to the outbox in that same transaction. A handler marked `@per_batch` gets
the batch's fresh events at once, for fan-outs that read and write once per batch.
API writes run through a `RequestRunner`: `await run(handler, request)` calls
`handler(request, uow, **deps)` in its own unit of work, committed when it returns.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from ferry_contracts import Envelope

from .broker import Handler
from .uow import UnitOfWork

R = TypeVar("R")
T = TypeVar("T")
EventHandler = Callable[..., Awaitable[None]]
BoundHandler = Callable[[Envelope[Any], UnitOfWork[Any]], Awaitable[None]]
UnitOfWorkMaker = Callable[[], UnitOfWork[R]]
H = TypeVar("H", bound=Callable[..., Awaitable[None]])
_PER_BATCH = "_ferry_per_batch"


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
    return {
        topic: _batch_handler(bind(handler, deps), uow, getattr(handler, _PER_BATCH, False))
        for topic, handler in table.items()
    }


def per_batch(handler: H) -> H:
    """Mark a handler that takes all the fresh events of a batch in one call:
    `async def on_x(events: list[Envelope[P]], uow, **deps)` (never called with none)."""
    setattr(handler, _PER_BATCH, True)
    return handler


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


class RequestRunner(Generic[R]):
    """Runs a request's handler, `handler(request, uow, **deps)`, in its own unit of work,
    committed when it returns (rolled back when it raises); answers what the handler returns.
    Dependencies are bound by name on a handler's first call."""

    def __init__(self, uow: UnitOfWorkMaker[R], deps: Mapping[str, object]) -> None:
        self._uow = uow
        self._deps = deps
        self._bound: dict[Callable[..., Any], Any] = {}

    async def __call__(self, handler: Callable[..., Awaitable[T]], request: object) -> T:
        bound = self._bound.get(handler)
        if bound is None:
            bound = self._bound[handler] = bind(handler, self._deps)
        async with self._uow() as unit:
            result: T = await bound(request, unit)
            await unit.commit()
        return result


def _batch_handler(handler: Any, make_uow: UnitOfWorkMaker[Any], whole: bool) -> Handler:
    async def handle(events: list[Envelope[Any]]) -> None:
        async with make_uow() as uow:
            fresh = await uow.claim_all(events)
            if whole:
                if fresh:
                    await handler(fresh, uow)
            else:
                for event in fresh:
                    await handler(event, uow)
            await uow.commit()

    return handle
