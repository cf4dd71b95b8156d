"""Records per model with cursors, and the confirmation of held deletions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from ..auth import CurrentPrincipal
from ..errors import ApiError
from ..upstream import call, relay
from .deps import Up, load_connection

router = APIRouter(tags=["records"])


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any]


@router.get("/v1/connections/{connection_id}/records/{data_model}")
async def list_records(
    connection_id: str,
    data_model: str,
    principal: CurrentPrincipal,
    up: Up,
    cursor: str | None = None,
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
    path = f"/internal/connections/{connection_id}/records/{data_model.upper()}"
    return relay(await call(up.records, "GET", path, params=params))


@router.post("/v1/connections/{connection_id}/records/{data_model}/deletions/confirm")
async def confirm_deletions(connection_id: str, data_model: str, principal: CurrentPrincipal, up: Up) -> Any:
    principal.require_server()
    await load_connection(up, principal, connection_id)
    path = f"/internal/connections/{connection_id}/records/{data_model.upper()}/deletions/confirm"
    return relay(await call(up.records, "POST", path))


def _require_write(connection: dict[str, Any], data_model: str) -> None:
    for m in connection.get("resolved_sync_config") or []:
        if m["data_model"].upper() == data_model.upper() and m.get("access") in ("WRITE", "READ_WRITE"):
            return
    raise ApiError(403, "access_denied", f"this connection has no WRITE access to {data_model.upper()}")


@router.post("/v1/connections/{connection_id}/records/{data_model}", status_code=201)
async def create_record(connection_id: str, data_model: str, body: RecordIn, principal: CurrentPrincipal, up: Up) -> Any:
    connection = await load_connection(up, principal, connection_id)
    _require_write(connection, data_model)
    path = f"/internal/connections/{connection_id}/records/{data_model.upper()}"
    return relay(await call(up.executor, "POST", path, json={"data": body.data, "project_id": principal.project.id}))


@router.patch("/v1/connections/{connection_id}/records/{data_model}/{record_id}")
async def update_record(
    connection_id: str, data_model: str, record_id: str, body: RecordIn, principal: CurrentPrincipal, up: Up
) -> Any:
    connection = await load_connection(up, principal, connection_id)
    _require_write(connection, data_model)
    path = f"/internal/connections/{connection_id}/records/{data_model.upper()}/{record_id}"
    return relay(await call(up.executor, "PATCH", path, json={"data": body.data, "project_id": principal.project.id}))
