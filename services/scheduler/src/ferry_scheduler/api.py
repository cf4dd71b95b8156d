"""The scheduler's internal HTTP API."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI
from ferry_kit import internal

from . import repository as repo


def create_api(pool: asyncpg.Pool, token: str) -> FastAPI:
    app = FastAPI(title="Ferry scheduler (internal)", docs_url=None, redoc_url=None,
                  openapi_url=None)
    api = internal.router(token)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/connections/{connection_id}/schedules")
    async def schedules(connection_id: str) -> Any:
        async with pool.acquire() as conn:
            rows = await repo.schedules(conn, connection_id)
        return {"schedules": [
            {"data_model": r["data_model"], "frequency": r["frequency"], "interval_minutes": r["interval_minutes"],
             "next_run_at": r["next_run_at"].isoformat(), "next_full_sync_at": r["next_full_sync_at"].isoformat(),
             "paused": r["paused"], "last_run_at": r["last_run_at"].isoformat() if r["last_run_at"] else None}
            for r in rows
        ]}

    app.include_router(api)
    return app
