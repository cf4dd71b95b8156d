"""Every dependency of a public route is a coroutine: FastAPI runs a plain function in its thread
pool, a hop to a worker thread and back on every request (under a busy CPU, one more wait)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from ferry_gateway.api import create_api


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router.routes)


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def test_no_public_route_runs_a_dependency_in_the_thread_pool() -> None:
    public = [r for r in _routes(create_api().routes) if r.path.startswith("/v1/")]
    assert "/v1/syncs/{job_id}" in {r.path for r in public}
    plain = {
        f"{route.path} needs {getattr(call, '__qualname__', call)}"
        for route in public
        for call in _calls(route.dependant)
        if call is not None and not inspect.iscoroutinefunction(call)
    }
    assert plain == set(), sorted(plain)
