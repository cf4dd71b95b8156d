"""Helpers of the webhooks tests: a running service, a real local receiver, event builders."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response
from ferry_contracts import ConnectionChanged, Envelope, RecordChanged, SyncCompleted, SyncCounts
from ferry_kit.infra import free_port


@dataclass
class Hit:
    name: str
    id: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0
    host: str = ""

    @property
    def payload(self) -> dict[str, Any]:
        return orjson.loads(self.body)


@dataclass
class Sink:
    """A customer's endpoints on one local HTTP server: POST /<name>, behaviour set per name."""

    port: int = field(default_factory=free_port)
    hits: list[Hit] = field(default_factory=list)
    behaviour: dict[str, dict[str, Any]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def of(self, name: str) -> list[Hit]:
        return [h for h in self.hits if h.name == name]

    def delivered(self, name: str) -> list[Hit]:
        return [h for h in self.of(name) if 200 <= h.status < 300]

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{name}")
        async def receive(name: str, request: Request) -> Response:
            body = await request.body()
            headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
            hit = Hit(
                name,
                headers.get("webhook-id", ""),
                headers,
                body,
                time.monotonic(),
                host=request.headers.get("host", ""),
            )
            seen = sum(1 for h in self.hits if h.name == name and h.id == hit.id)
            self.hits.append(hit)
            b = self.behaviour.get(name, {})
            if b.get("delay"):
                await asyncio.sleep(b["delay"])
            fail = seen < b.get("fail_first", 0)
            if b.get("fail_first_of_some") and seen == 0:
                fail = hashlib.sha256(hit.id.encode()).digest()[0] % 2 == 0
            hit.status = b.get("status", 500 if fail else 204)
            return Response(content=b"nope" if hit.status >= 300 else b"", status_code=hit.status)

        return app

    async def start(self) -> Sink:
        self._server = uvicorn.Server(
            uvicorn.Config(
                self._app(), host="127.0.0.1", port=self.port, log_level="warning", access_log=False
            )
        )
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 5)


async def until(
    check: Callable[[], Awaitable[Any]] | Callable[[], Any], timeout: float = 30.0, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached within {timeout}s: {what}"
        await asyncio.sleep(0.05)


def api(port: int, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"x-ferry-internal-token": token}, timeout=10
    )


def connection_changed(
    pid: str, cid: str, status: str, previous: str | None, version: int, user_id: str = "user-1"
) -> Envelope[Any]:
    return Envelope.of(
        ConnectionChanged(
            connection_id=cid,
            user_id=user_id,
            provider_name="sandbox",
            status=status,
            previous_status=previous,
            version=version,
        ),
        project_id=pid,
        connection_id=cid,
    )


def sync_completed(
    pid: str, cid: str, status: str = "complete", job: str = "job_1", error: str | None = None
) -> Envelope[Any]:
    return Envelope.of(
        SyncCompleted(
            job_id=job,
            batch_id="batch_1",
            connection_id=cid,
            provider_name="sandbox",
            data_model="CONTACTS",
            status=status,
            counts=SyncCounts(fetched=3, created=2),
            error=error,
            last_synced_at=datetime.now(UTC),
        ),
        project_id=pid,
        connection_id=cid,
    )


def record_changed(pid: str, cid: str, i: int, action: str = "created") -> Envelope[Any]:
    return Envelope.of(
        RecordChanged(
            data_model="CONTACTS",
            record_id=f"r{i}",
            action=action,
            cursor=f"c{i:08d}",
            modified_at=datetime.now(UTC),
            data={"n": i} if action != "deleted" else None,
            changed_fields={"n": {"old": i - 1, "new": i}} if action == "updated" else {},
        ),
        project_id=pid,
        connection_id=cid,
    )
