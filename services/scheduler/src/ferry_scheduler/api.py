"""The scheduler's internal HTTP API: each route calls one view."""

from __future__ import annotations

from fastapi import FastAPI
from ferry_kit import errors, internal

from . import views


def create_api(read: views.Reader, token: str) -> FastAPI:
    app = FastAPI(title="Ferry scheduler (internal)", docs_url=None, redoc_url=None,
                  openapi_url=None)
    errors.install(app)
    api = internal.router(token)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/connections/{connection_id}/schedules")
    async def schedules(connection_id: str) -> views.SchedulesOut:
        return await views.schedules(read, connection_id)

    @api.get("/connections/{connection_id}/sync-status")
    async def sync_status(connection_id: str) -> views.SyncStatusOut:
        return await views.sync_status(read, connection_id)

    app.include_router(api)
    return app
