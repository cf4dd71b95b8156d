"""Sync requests, jobs and sync status (seeds 001, 003), proxied to executor/scheduler/records.

A job poll is answered from the gateway's copy of the job (`handlers.py` keeps it from
`sync.job.changed`) while the executor said it recently; otherwise the executor is asked, and
its answer kept (`jobcache.JobBoard`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from ferry_contracts.internal.executor import ManualSyncIn, SyncIn
from ferry_contracts.internal.scheduler import SyncStatusOut
from ferry_contracts.values import JobStatus
from ferry_kit.errors import ApiError, NotFound

from ..auth import CurrentPrincipal, Principal
from ..domain import JobCopy
from ..jobcache import JobBoard
from ..upstream import Clients, relay
from .deps import Api, Board, connection_of
from .params import ConnectionId, JobId

router = APIRouter(tags=["syncs"])


@router.post("/v1/connections/{connection_id}/sync", status_code=202)
async def request_sync(
    connection_id: ConnectionId, principal: CurrentPrincipal, api: Api, body: SyncIn | None = None
) -> Any:
    body = body or SyncIn()
    await connection_of(api, principal, connection_id)
    # The executor decides: CONNECTED (409 otherwise), models enabled for reading (422).
    manual = ManualSyncIn(project_id=principal.project.id, **body.model_dump())
    return relay(await api.executor.request_sync(connection_id, manual))


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


async def _job(board: JobBoard, api: Clients, principal: Principal, job_id: str) -> JobCopy:
    job = await board.job(job_id, lambda: api.executor.job(job_id))
    if not principal.is_end_user and job.project_id is not None:
        # The project's own key sees every job of the project: the job's project suffices, and
        # the status poll of a running sync costs no internal call (the copy is fresh).
        if job.project_id != principal.project.id:
            raise NotFound(f"no sync job {job_id}")
        return job
    try:
        await connection_of(api, principal, job.connection_id)
    except ApiError as exc:
        if exc.status == 404:
            raise NotFound(f"no sync job {job_id}") from None
        raise
    return job


@router.get("/v1/syncs/{job_id}", response_model=dict[str, Any])
async def get_sync(
    job_id: JobId, principal: CurrentPrincipal, api: Api, board: Board
) -> Response:
    """A sync job. A change of its status shows within moments; while it runs, its progress
    (`pagination_state`, `counts.fetched`) moves about once a second."""
    job = await _job(board, api, principal, job_id)
    return Response(job.body, media_type="application/json")


@router.post("/v1/syncs/{job_id}/cancel")
async def cancel_sync(
    job_id: JobId, principal: CurrentPrincipal, api: Api, board: Board
) -> Response:
    await _job(board, api, principal, job_id)
    answer = await api.executor.cancel(job_id)
    await board.changed(job_id)
    return relay(answer)


@router.get("/v1/connections/{connection_id}/sync-status")
async def sync_status(connection_id: ConnectionId, principal: CurrentPrincipal,
                      api: Api) -> SyncStatusOut:
    """Each requested model: IDLE, SYNCING, PAUSED, ERROR or DISABLED, as the scheduler derives
    it from the sync events (it follows a job's end within moments)."""
    await connection_of(api, principal, connection_id)
    return await api.scheduler.sync_status(connection_id)
