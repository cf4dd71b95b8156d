"""A Starlette app served on a free loopback port from a thread, for the fake providers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

import uvicorn
from ferry_kit.infra import free_port
from starlette.applications import Starlette
from starlette.routing import Route


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
