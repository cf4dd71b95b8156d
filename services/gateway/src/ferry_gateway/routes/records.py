"""Records per model with cursors, write-back, and the confirmation of held deletions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from ferry_contracts.internal.executor import RecordWrite
from ferry_contracts.values import WRITABLE
from ferry_kit.errors import Forbidden
from pydantic import BaseModel, ConfigDict

from ..auth import CurrentPrincipal, Principal
from ..upstream import Clients, relay
from .deps import Api, connection_of
from .params import ConnectionId, DataModel, RecordId

router = APIRouter(tags=["records"])


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any]


@router.get("/v1/connections/{connection_id}/records/{data_model}")
async def list_records(
    connection_id: ConnectionId,
    data_model: DataModel,
    principal: CurrentPrincipal,
    api: Api,
    cursor: str | None = Query(None, pattern=r"^[A-Za-z0-9_-]{1,128}$"),
    limit: int = Query(100, ge=1, le=1000),
    modified_after: datetime | None = None,
    include_deleted: bool | None = None,
) -> Response:
    await connection_of(api, principal, connection_id)
    params = {
        "cursor": cursor,
        "limit": limit,
        "modified_after": modified_after.isoformat() if modified_after else None,
        "include_deleted": None if include_deleted is None else str(include_deleted).lower(),
    }
    return relay(await api.records.page(connection_id, data_model, params))


@router.get("/v1/connections/{connection_id}/records/{data_model}/{record_id}")
async def get_record(connection_id: ConnectionId, data_model: DataModel, record_id: RecordId,
                     principal: CurrentPrincipal, api: Api) -> Response:
    """One record with its versions: `versions[]` each with `version`, `action`,
    `recorded_at` and `changes` (`{field: {"old", "new"}}` for an update)."""
    await connection_of(api, principal, connection_id)
    return relay(await api.records.record(connection_id, data_model, record_id))


@router.post("/v1/connections/{connection_id}/records/{data_model}/deletions/confirm")
async def confirm_deletions(
    connection_id: ConnectionId, data_model: DataModel, principal: CurrentPrincipal, api: Api
) -> Response:
    principal.require_server()
    await connection_of(api, principal, connection_id)
    return relay(await api.records.confirm_deletions(connection_id, data_model))


async def _write(api: Clients, principal: Principal, connection_id: str, data_model: str,
                 body: RecordIn, record_id: str | None = None) -> Response:
    connection = await connection_of(api, principal, connection_id)
    if connection.access_of(data_model) not in WRITABLE:
        raise Forbidden(f"this connection has no WRITE access to {data_model.upper()}",
                        "access_denied")
    write = RecordWrite(data=body.data, project_id=principal.project.id)
    return relay(await api.executor.write(connection_id, data_model, write, record_id))


@router.post("/v1/connections/{connection_id}/records/{data_model}", status_code=201)
async def create_record(connection_id: ConnectionId, data_model: DataModel, body: RecordIn,
                        principal: CurrentPrincipal, api: Api) -> Response:
    return await _write(api, principal, connection_id, data_model, body)


@router.patch("/v1/connections/{connection_id}/records/{data_model}/{record_id}")
async def update_record(connection_id: ConnectionId, data_model: DataModel, record_id: RecordId,
                        body: RecordIn, principal: CurrentPrincipal, api: Api) -> Response:
    return await _write(api, principal, connection_id, data_model, body, record_id)
