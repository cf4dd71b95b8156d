"""The scheduler's internal HTTP API: each route calls one view."""

from __future__ import annotations

from fastapi import FastAPI
from ferry_kit import internal

from . import views


def create_api(read: views.Reader, token: str) -> FastAPI:
    app, api = internal.create_app("Ferry scheduler (internal)", token)

    @api.get("/connections/{connection_id}/schedules")
    async def schedules(connection_id: str) -> views.SchedulesOut:
        return await views.schedules(read, connection_id)

    @api.get("/connections/{connection_id}/sync-status")
    async def sync_status(connection_id: str) -> views.SyncStatusOut:
        return await views.sync_status(read, connection_id)

    app.include_router(api)
    return app
