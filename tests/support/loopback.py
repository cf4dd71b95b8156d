"""Starlette apps served by uvicorn on a free loopback port, for the fake providers.

`Loopback` runs inside the test's event loop; `LoopbackServer` runs in a thread of its own, for
fixtures that must answer while the test blocks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import uvicorn
from ferry_kit.infra import free_port
from starlette.applications import Starlette
from starlette.routing import Route


class Loopback:
    """Subclasses set `self.app`; `serve()` fills `url`, `stop()` ends it."""

    app: Any
    url = ""

    async def serve(self) -> Any:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            assert not self._task.done(), f"{type(self).__name__} did not start"
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 5)


class LoopbackServer:
    """Subclasses pass their routes; `start()` returns once the port answers."""

    def __init__(self, routes: list[Route]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes), host="127.0.0.1",
                                                    port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> Self:
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @contextmanager
    def running(self) -> Iterator[Self]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
