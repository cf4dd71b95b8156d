"""The records service's internal HTTP API (the gateway proxies the public records API to it):
each route calls one view or one handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI
from ferry_kit import internal
from pydantic import BaseModel

from . import views
from .domain import ConfirmDeletions

Confirm = Callable[[ConfirmDeletions], Awaitable[int]]


class ConfirmedOut(BaseModel):
    deleted: int


def create_api(read: views.Reader, confirm: Confirm, token: str) -> FastAPI:
    app, api = internal.create_app("Ferry records (internal)", token)

    @api.get("/connections/{connection_id}/records/{data_model}")
    async def records_page(
        connection_id: str, data_model: str, query: Annotated[views.RecordsQuery, Depends()]
    ) -> views.RecordsPageOut:
        return await views.records_page(read, connection_id, data_model, query)

    @api.get("/connections/{connection_id}/records/{data_model}/{record_id}")
    async def record(
        connection_id: str, data_model: str, record_id: str
    ) -> views.RecordWithVersionsOut:
        return await views.record(read, connection_id, data_model, record_id)

    @api.get("/connections/{connection_id}/sync-state")
    async def sync_state(connection_id: str) -> views.SyncStateOut:
        return await views.sync_state(read, connection_id)

    @api.post("/connections/{connection_id}/records/{data_model}/deletions/confirm")
    async def confirm_deletions(connection_id: str, data_model: str) -> ConfirmedOut:
        return ConfirmedOut(deleted=await confirm(ConfirmDeletions(connection_id, data_model)))

    app.include_router(api)
    return app
