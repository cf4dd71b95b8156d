"""The kit's quiet HTTP server: serves, keeps its date header fresh, and stops at once."""

from __future__ import annotations

import asyncio
import time

import httpx
import uvicorn
from fastapi import FastAPI
from ferry_kit.httpserver import QuietServer
from ferry_kit.infra import free_port


async def test_it_serves_with_a_date_header_and_stops_without_waiting_for_its_tick() -> None:
    app = FastAPI()
    app.add_api_route("/ping", lambda: {"ok": True})
    port = free_port()
    server = QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"http://127.0.0.1:{port}/ping")
    assert resp.json() == {"ok": True}
    assert resp.headers["date"].endswith("GMT")
    started = time.monotonic()
    server.should_exit = True
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 0.5  # not the next one-second tick
