"""A Starlette app served by uvicorn on a free loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from ferry_kit.infra import free_port


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
