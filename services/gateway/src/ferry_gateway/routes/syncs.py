"""Sync requests, jobs and sync status (seeds 001, 003), proxied to executor/scheduler/records."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from ferry_contracts.values import ACTIVE_JOB_STATUSES, READABLE, JobStatus
from pydantic import BaseModel, ConfigDict, Field

from ..auth import CurrentPrincipal, Principal
from ..errors import ApiError
from ..upstream import Upstreams, call, ok_json, path, relay
from .deps import Up, load_connection
from .params import ConnectionId, JobId

router = APIRouter(tags=["syncs"])

_ACTIVE = set(ACTIVE_JOB_STATUSES)


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
    await load_connection(up, principal, connection_id)
    # The executor decides: CONNECTED (409 otherwise), models enabled for reading (422).
    payload = {"project_id": principal.project.id, **body.model_dump(mode="json")}
    where = path("internal", "connections", connection_id, "syncs")
    return relay(await call(up.executor, "POST", where, json=payload))


@router.get("/v1/connections/{connection_id}/syncs")
async def list_syncs(
    connection_id: ConnectionId,
    principal: CurrentPrincipal,
    up: Up,
    status: JobStatus | None = None,
    data_model: str | None = Query(None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, pattern=r"^[A-Za-z0-9_-]{1,128}$"),
) -> Any:
    await load_connection(up, principal, connection_id)
    model = data_model.upper() if data_model else None
    params = {"status": status, "data_model": model, "limit": limit, "cursor": cursor}
    where = path("internal", "connections", connection_id, "syncs")
    return relay(await call(up.executor, "GET", where, params=params))


async def _job(up: Upstreams, principal: Principal, job_id: str) -> dict[str, Any]:
    job = ok_json(await call(up.executor, "GET", path("internal", "syncs", job_id)))
    try:
        await load_connection(up, principal, job["connection_id"])
    except ApiError as exc:
        if exc.status == 404:
            raise ApiError(404, "not_found", f"no sync job {job_id}") from None
        raise
    return job


@router.get("/v1/syncs/{job_id}")
async def get_sync(job_id: JobId, principal: CurrentPrincipal, up: Up) -> Any:
    return await _job(up, principal, job_id)


@router.post("/v1/syncs/{job_id}/cancel")
async def cancel_sync(job_id: JobId, principal: CurrentPrincipal, up: Up) -> Any:
    await _job(up, principal, job_id)
    return relay(await call(up.executor, "POST", path("internal", "syncs", job_id, "cancel")))


@router.get("/v1/connections/{connection_id}/sync-status")
async def sync_status(connection_id: ConnectionId, principal: CurrentPrincipal, up: Up) -> Any:
    connection = await load_connection(up, principal, connection_id)
    schedules, jobs, state = await asyncio.gather(
        call(up.scheduler, "GET", path("internal", "connections", connection_id, "schedules")),
        call(up.executor, "GET", path("internal", "connections", connection_id, "jobs-summary")),
        call(up.records, "GET", path("internal", "connections", connection_id, "sync-state")),
    )
    return {"data_models": combine_status(connection, ok_json(schedules), ok_json(jobs), ok_json(state))}


def _by_model(items: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(i.get("data_model", "")).upper(): i for i in items or []}


def combine_status(
    connection: dict[str, Any], schedules: dict[str, Any], jobs: dict[str, Any], state: dict[str, Any]
) -> list[dict[str, Any]]:
    enabled = readable_models(connection)
    sched = _by_model(schedules.get("schedules"))
    job = _by_model(jobs.get("data_models"))
    rec = _by_model(state.get("data_models"))
    names = [m.upper() for m in connection.get("requested_data_types") or []]
    out = []
    for name in names:
        j, r, s = job.get(name, {}), rec.get(name, {}), sched.get(name, {})
        last_error = j.get("last_error") or r.get("last_error")
        if name not in enabled:
            status = "DISABLED"
        elif connection["status"] != "CONNECTED" or s.get("paused"):
            status = "PAUSED"
        elif j.get("status") in _ACTIVE:
            status = "SYNCING"
        elif j.get("last_status") == "failed" or r.get("last_status") == "failed":
            status = "ERROR"
        else:
            status = "IDLE"
        out.append({
            "data_model": name,
            "status": status,
            "last_synced_at": r.get("last_synced_at") or j.get("last_synced_at"),
            "next_sync_at": s.get("next_run_at") if status not in ("DISABLED", "PAUSED") else None,
            "last_error": last_error if status == "ERROR" else None,
            "held_deletions": r.get("held_deletions", 0),
        })
    return out
