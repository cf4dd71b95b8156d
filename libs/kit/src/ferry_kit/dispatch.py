"""From a service's table of typed handlers to the kit consumer's topic handlers.

A handler is `async def on_<event>(event: Envelope[Payload], uow: UnitOfWork[R], **deps)`.
The kit opens one unit of work per batch of one topic, claims the batch in the inbox, calls the
handler for each fresh event and commits: a handler cannot skip the inbox, and whatever it
emits is written to the outbox in that same transaction.

A `Batch` entry takes the fresh events together instead, `handler(events, uow, **deps)`, one
unit of work per group of its `split` (the whole batch by default): a consumer that writes in
bulk (the records service's pages) keeps its bulk, and still cannot skip the inbox or outbox.
With `projects`, `projects(project_ids, uow, **deps)` answers first (once per consumer run of
the topic, in a unit of work rolled back) which projects' events the handler acts on: the
others are not decoded, claimed or handed to it (`broker.Gated`).

An API write runs its handler in a unit of work of its own: `use_case(handler, uow, deps)` for
one handler, or a `RequestRunner` for many (`await run(handler, request)`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ferry_contracts import Envelope

from .broker import Gated, Handler
from .uow import UnitOfWork

R = TypeVar("R")
T = TypeVar("T")
EventHandler = Callable[..., Awaitable[None]]
BoundHandler = Callable[[Envelope[Any], UnitOfWork[Any]], Awaitable[None]]
UnitOfWorkMaker = Callable[[], UnitOfWork[R]]
Split = Callable[[Sequence[Envelope[Any]]], Iterable[Sequence[Envelope[Any]]]]


def whole(events: Sequence[Envelope[Any]]) -> list[Sequence[Envelope[Any]]]:
    return [events]


@dataclass(frozen=True)
class Batch:
    """A handler of a topic's fresh events together: `handler(events, uow, **deps)`, run once
    per group that `split` makes of a consumer batch (in order), each in its own unit of work
    (its inbox claim, its effect and its events commit together). `projects`: see the module's
    docstring; only for a handler that does nothing at all with another project's event."""

    handler: Callable[..., Awaitable[None]]
    split: Split = whole
    projects: Callable[..., Awaitable[Collection[str | None]]] | None = None


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
    table: Mapping[str, EventHandler | Batch],
    uow: UnitOfWorkMaker[Any],
    deps: Mapping[str, object],
) -> dict[str, Handler]:
    """The `{topic: handler}` map for `Runtime.start_consumer`, from `{topic: typed handler}`."""
    return {topic: _topic_handler(entry, uow, deps) for topic, entry in table.items()}


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


def use_case(
    handler: Callable[..., Awaitable[T]], uow: UnitOfWorkMaker[Any], deps: Mapping[str, object]
) -> Callable[[Any], Awaitable[T]]:
    """`handler(command, uow, **deps)` run in its own unit of work, committed when it returns
    (an API route's one call); an exception rolls it back."""
    runner: RequestRunner[Any] = RequestRunner(uow, deps)

    async def run(arg: Any) -> T:
        return await runner(handler, arg)

    return run


def _topic_handler(
    entry: EventHandler | Batch, uow: UnitOfWorkMaker[Any], deps: Mapping[str, object]
) -> Handler:
    if isinstance(entry, Batch):
        handle = _groups_handler(bind(entry.handler, deps), entry.split, uow)
        if entry.projects is None:
            return handle
        return Gated(handle, _projects_reader(bind(entry.projects, deps), uow))
    return _batch_handler(bind(entry, deps), uow)


def _projects_reader(
    projects: Any, make_uow: UnitOfWorkMaker[Any]
) -> Callable[[list[str | None]], Awaitable[Collection[str | None]]]:
    async def read(project_ids: list[str | None]) -> Collection[str | None]:
        async with make_uow() as uow:  # a read: left without commit, rolled back
            wanted: Collection[str | None] = await projects(project_ids, uow)
        return wanted

    return read


def _groups_handler(handler: Any, split: Split, make_uow: UnitOfWorkMaker[Any]) -> Handler:
    async def handle(events: list[Envelope[Any]]) -> None:
        for group in split(events):
            async with make_uow() as uow:
                fresh = await uow.claim_all(group)
                if fresh:
                    await handler(fresh, uow)
                await uow.commit()

    return handle


def _batch_handler(handler: BoundHandler, make_uow: UnitOfWorkMaker[Any]) -> Handler:
    async def handle(events: list[Envelope[Any]]) -> None:
        async with make_uow() as uow:
            for event in await uow.claim_all(events):
                await handler(event, uow)
            await uow.commit()

    return handle
