"""Sync requests, jobs and sync status (seeds 001, 003), proxied to executor/scheduler/records."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Response
from ferry_contracts.internal.executor import JobOut
from ferry_contracts.internal.scheduler import SyncStatusOut
from ferry_contracts.values import READABLE, JobStatus
from ferry_kit.errors import ApiError, NotFound
from pydantic import BaseModel, ConfigDict, Field

from ..auth import CurrentPrincipal, Principal
from ..upstream import Clients, call, path, relay
from .deps import Api, Up, connection_of, load_connection
from .params import ConnectionId, JobId

router = APIRouter(tags=["syncs"])


class ModelToSync(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_model: str = Field(min_length=1)
    sync_from: date | None = None


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_sync: bool = False
    data_models_to_sync: list[ModelToSync] | None = None


def readable_models(connection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Models of the connection's resolved config that sync (READ or READ_WRITE access)."""
    return {
        m["data_model"].upper(): m
        for m in connection.get("resolved_sync_config") or []
        if m.get("access") in READABLE
    }


@router.post("/v1/connections/{connection_id}/sync", status_code=202)
async def request_sync(
    connection_id: ConnectionId, principal: CurrentPrincipal, up: Up, body: SyncIn | None = None
) -> Any:
    body = body or SyncIn()
    connection = await load_connection(up, principal, connection_id)
    if connection["status"] != "CONNECTED":
        raise ApiError(
            409, "connection_not_connected",
            f"a sync needs a CONNECTED connection; current status is {connection['status']}",
            [{"field": "status", "message": connection["status"]}],
        )
    enabled = readable_models(connection)
    if body.data_models_to_sync is None:
        models = [{"data_model": name, "sync_from": None} for name in enabled]
    else:
        models, details = [], []
        for i, m in enumerate(body.data_models_to_sync):
            name = m.data_model.upper()
            if name not in enabled:
                details.append({"field": f"data_models_to_sync[{i}].data_model",
                                "message": f"{name} is not enabled for reading on this connection"})
            models.append({"data_model": name, "sync_from": m.sync_from.isoformat() if m.sync_from else None})
        if details:
            raise ApiError(422, "validation_error", "some data models are not enabled", details)
    if not models:
        raise ApiError(422, "validation_error", "this connection has no data model enabled for reading",
                       [{"field": "data_models_to_sync", "message": "no enabled data model"}])
    payload = {
        "project_id": principal.project.id,
        "provider_name": connection["provider_name"],
        "full_sync": body.full_sync,
        "models": models,
        "trigger": "manual",
    }
    where = path("internal", "connections", connection_id, "syncs")
    return relay(await call(up.executor, "POST", where, json=payload))


@router.get("/v1/connections/{connection_id}/syncs")
async def list_syncs(
    connection_id: ConnectionId,
    principal: CurrentPrincipal,
    api: Api,
    status: JobStatus | None = None,
    data_model: str | None = Query(None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, pattern=r"^[A-Za-z0-9_-]{1,128}$"),
) -> Response:
    await connection_of(api, principal, connection_id)
    model = data_model.upper() if data_model else None
    params = {"status": status, "data_model": model, "limit": limit, "cursor": cursor}
    return relay(await api.executor.jobs(connection_id, params))


async def _job(api: Clients, principal: Principal, job_id: str) -> JobOut:
    job = await api.executor.job(job_id)
    try:
        await connection_of(api, principal, job.connection_id)
    except ApiError as exc:
        if exc.status == 404:
            raise NotFound(f"no sync job {job_id}") from None
        raise
    return job


@router.get("/v1/syncs/{job_id}")
async def get_sync(job_id: JobId, principal: CurrentPrincipal, api: Api) -> dict[str, Any]:
    return (await _job(api, principal, job_id)).public()


@router.post("/v1/syncs/{job_id}/cancel")
async def cancel_sync(job_id: JobId, principal: CurrentPrincipal, api: Api) -> Response:
    await _job(api, principal, job_id)
    return relay(await api.executor.cancel(job_id))


@router.get("/v1/connections/{connection_id}/sync-status")
async def sync_status(connection_id: ConnectionId, principal: CurrentPrincipal,
                      api: Api) -> SyncStatusOut:
    """Each requested model: IDLE, SYNCING, PAUSED, ERROR or DISABLED, as the scheduler derives
    it from the sync events (it follows a job's end within moments)."""
    await connection_of(api, principal, connection_id)
    return await api.scheduler.sync_status(connection_id)
