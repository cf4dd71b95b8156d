"""Records per model with cursors, and the confirmation of held deletions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from ..auth import CurrentPrincipal
from ..errors import ApiError
from ..upstream import call, path, relay
from .deps import Up, load_connection
from .params import ConnectionId, DataModel, RecordId

router = APIRouter(tags=["records"])


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any]


def _records(connection_id: str, data_model: str, *rest: str) -> str:
    return path("internal", "connections", connection_id, "records", data_model.upper(), *rest)


@router.get("/v1/connections/{connection_id}/records/{data_model}")
async def list_records(
    connection_id: ConnectionId,
    data_model: DataModel,
    principal: CurrentPrincipal,
    up: Up,
    cursor: str | None = Query(None, pattern=r"^[A-Za-z0-9_-]{1,128}$"),
    limit: int = Query(100, ge=1, le=1000),
    modified_after: datetime | None = None,
    include_deleted: bool | None = None,
) -> Any:
    await load_connection(up, principal, connection_id)
    params = {
        "cursor": cursor,
        "limit": limit,
        "modified_after": modified_after.isoformat() if modified_after else None,
        "include_deleted": None if include_deleted is None else str(include_deleted).lower(),
    }
    where = _records(connection_id, data_model)
    return relay(await call(up.records, "GET", where, params=params))


@router.get("/v1/connections/{connection_id}/records/{data_model}/{record_id}")
async def get_record(connection_id: ConnectionId, data_model: DataModel, record_id: RecordId,
                     principal: CurrentPrincipal, up: Up) -> Any:
    """One record with its versions: `versions[]` each with `version`, `action`,
    `recorded_at` and `changes` (`{field: {"old", "new"}}` for an update)."""
    await load_connection(up, principal, connection_id)
    return relay(await call(up.records, "GET", _records(connection_id, data_model, record_id)))


@router.post("/v1/connections/{connection_id}/records/{data_model}/deletions/confirm")
async def confirm_deletions(
    connection_id: ConnectionId, data_model: DataModel, principal: CurrentPrincipal, up: Up
) -> Any:
    principal.require_server()
    await load_connection(up, principal, connection_id)
    where = _records(connection_id, data_model, "deletions", "confirm")
    return relay(await call(up.records, "POST", where))


def _require_write(connection: dict[str, Any], data_model: str) -> None:
    for m in connection.get("resolved_sync_config") or []:
        if m["data_model"].upper() == data_model.upper() and m.get("access") in ("WRITE", "READ_WRITE"):
            return
    raise ApiError(403, "access_denied", f"this connection has no WRITE access to {data_model.upper()}")


@router.post("/v1/connections/{connection_id}/records/{data_model}", status_code=201)
async def create_record(
    connection_id: ConnectionId, data_model: DataModel, body: RecordIn, principal: CurrentPrincipal, up: Up
) -> Any:
    connection = await load_connection(up, principal, connection_id)
    _require_write(connection, data_model)
    payload = {"data": body.data, "project_id": principal.project.id}
    return relay(await call(up.executor, "POST", _records(connection_id, data_model), json=payload))


@router.patch("/v1/connections/{connection_id}/records/{data_model}/{record_id}")
async def update_record(
    connection_id: ConnectionId,
    data_model: DataModel,
    record_id: RecordId,
    body: RecordIn,
    principal: CurrentPrincipal,
    up: Up,
) -> Any:
    connection = await load_connection(up, principal, connection_id)
    _require_write(connection, data_model)
    payload = {"data": body.data, "project_id": principal.project.id}
    where = _records(connection_id, data_model, record_id)
    return relay(await call(up.executor, "PATCH", where, json=payload))
