"""The executor's internal HTTP API (the gateway proxies the public sync API to it): each route
calls one handler or one view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Query
from ferry_contracts.internal.executor import ManualSyncIn
from ferry_contracts.sync import SyncJob
from ferry_kit import internal
from pydantic import BaseModel

from . import views
from .domain import Job, ManualSync, to_sync_job
from .writeback import RecordWrite


def _manual_sync(body: ManualSyncIn, connection_id: str) -> ManualSync:
    models = body.data_models_to_sync
    return ManualSync(connection_id, body.project_id, body.full_sync,
                      None if models is None else [(m.data_model, m.sync_from) for m in models])


class RecordIn(BaseModel):
    data: dict[str, Any]
    project_id: str | None = None


@dataclass(frozen=True)
class Commands:
    """The use cases the API runs, each in its own unit of work (built by `bootstrap`)."""

    request_sync: Callable[[ManualSync], Awaitable[list[Job]]]
    cancel: Callable[[str], Awaitable[Job]]
    write: Callable[[RecordWrite], Awaitable[dict[str, Any]]]


def create_api(read: views.Reader, commands: Commands, token: str) -> FastAPI:
    app, api = internal.create_app("Ferry executor (internal)", token)

    @api.post("/connections/{connection_id}/syncs", status_code=202)
    async def request_sync(connection_id: str, body: ManualSyncIn) -> list[SyncJob]:
        jobs = await commands.request_sync(_manual_sync(body, connection_id))
        return [to_sync_job(j) for j in jobs]

    @api.get("/connections/{connection_id}/syncs")
    async def list_syncs(
        connection_id: str, status: str | None = None, data_model: str | None = None,
        limit: int = Query(50, ge=1, le=200), cursor: str | None = None,
    ) -> views.JobPage:
        return await views.jobs(read, connection_id, status, data_model, limit, cursor)

    @api.get("/syncs/{job_id}")
    async def get_sync(job_id: str) -> views.JobOut:
        return await views.job(read, job_id)

    @api.post("/syncs/{job_id}/cancel")
    async def cancel_sync(job_id: str) -> SyncJob:
        return to_sync_job(await commands.cancel(job_id))

    @api.get("/connections/{connection_id}/jobs-summary")
    async def summary(connection_id: str) -> views.SummaryOut:
        return await views.summary(read, connection_id)

    @api.post("/connections/{connection_id}/records/{data_model}", status_code=201)
    async def create_record(connection_id: str, data_model: str, body: RecordIn) -> Any:
        return await commands.write(
            RecordWrite(connection_id, body.project_id, data_model, body.data))

    @api.patch("/connections/{connection_id}/records/{data_model}/{record_id}")
    async def update_record(
        connection_id: str, data_model: str, record_id: str, body: RecordIn
    ) -> Any:
        return await commands.write(
            RecordWrite(connection_id, body.project_id, data_model, body.data, record_id))

    app.include_router(api)
    return app
