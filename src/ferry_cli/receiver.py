"""A customer's webhook endpoint, for the demo and tests: verifies Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from ferry_kit.infra import free_port
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    id: str
    type: str
    data: dict[str, Any]
    verified: bool
    at: float
    attempt_headers: dict[str, str] = field(default_factory=dict)


class WebhookReceiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret: str | None = None
        self.received: list[Received] = []
        self.returns: list[str] = []
        self._arrived = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks")
        async def webhook(request: Request) -> Response:
            body = await request.body()
            headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
            verified = False
            if self.secret:
                try:
                    Webhook(self.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
            payload = await request.json()
            async with self._arrived:
                self.received.append(Received(payload["id"], payload["type"], payload["data"],
                                              verified, time.monotonic(), headers))
                self._arrived.notify_all()
            return Response(status_code=204 if verified else 400)

        @app.get("/done")
        async def done(request: Request) -> dict[str, str]:
            self.returns.append(str(request.url))
            return {"status": request.query_params.get("status", "")}

        return app

    async def start(self) -> WebhookReceiver:
        self._server = uvicorn.Server(uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning"))
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        if self._server and self._task:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 5)

    def of_type(self, kind: str, **match: Any) -> list[Received]:
        return [
            r for r in self.received
            if r.type == kind and all(r.data.get(k) == v for k, v in match.items())
        ]

    async def wait_for(
        self, kind: str, count: int = 1, timeout: float = 60.0, **match: Any
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        async with self._arrived:
            while len(self.of_type(kind, **match)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(r.type, r.data.get("data_model")) for r in self.received]
                    raise TimeoutError(
                        f"waited {timeout}s for {count} {kind} {match}; received {got}")
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    continue
        return self.of_type(kind, **match)
