"""Connections (seed 001's company page): the list, one connection, its actions and jobs."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from ferry_contracts import values

from ..routes.params import ConnectionId, DataModel
from .web import Action, Console, Page, back

router = APIRouter()

STATUSES = values.CONNECTION_STATUSES
ACTIVE = values.ACTIVE_JOB_STATUSES


async def _syncing(console: Console, connection: dict[str, Any]) -> bool:
    status = await console.api("GET", f"/v1/connections/{connection['id']}/sync-status")
    return any(m["status"] == "SYNCING" for m in status["data_models"])


async def _listing(console: Console, user_id: str, provider: str, status: str,
                   cursor: str) -> dict[str, Any]:
    page = await console.api("GET", "/v1/connections", params={
        "user_id": user_id, "provider_name": provider, "status": status, "cursor": cursor,
        "limit": 25})
    flags = await asyncio.gather(*(_syncing(console, c) for c in page["data"]))
    for connection, syncing in zip(page["data"], flags, strict=True):
        connection["syncing"] = syncing
    return page


@router.get("/console/connections")
async def list_page(console: Page, user_id: str = "", provider: str = "", status: str = "",
                    cursor: str = "", fragment: bool = False) -> Response:
    page = await _listing(console, user_id, provider, status, cursor)
    providers = await console.api("GET", "/v1/providers")
    query = {"user_id": user_id, "provider": provider, "status": status}
    return console.page("connections_table.html" if fragment else "connections.html",
                        page=page, query=query, cursor=cursor, statuses=STATUSES,
                        providers=[p["name"] for p in providers])


def _duration(job: dict[str, Any]) -> str:
    if not job.get("started_at") or not job.get("completed_at"):
        return ""
    seconds = (datetime.fromisoformat(job["completed_at"])
               - datetime.fromisoformat(job["started_at"])).total_seconds()
    return f"{seconds:.1f} s"


async def _jobs(console: Console, connection_id: str) -> list[dict[str, Any]]:
    jobs = await console.api("GET", f"/v1/connections/{connection_id}/syncs",
                             params={"limit": 30})
    for job in jobs["data"]:
        job["duration"] = _duration(job)
    return jobs["data"]


@router.get("/console/connections/{connection_id}")
async def connection_page(console: Page, connection_id: ConnectionId,
                          notice: str = "") -> Response:
    connection, status, jobs, history = await asyncio.gather(
        console.api("GET", f"/v1/connections/{connection_id}"),
        console.api("GET", f"/v1/connections/{connection_id}/sync-status"),
        _jobs(console, connection_id),
        console.api("GET", f"/v1/connections/{connection_id}/status-history"))
    return console.page("connection.html", c=connection, models=status["data_models"],
                        jobs=jobs, notice=notice, history=history["data"],
                        live=any(j["status"] in ACTIVE for j in jobs))


@router.get("/console/connections/{connection_id}/jobs")
async def jobs_fragment(console: Page, connection_id: ConnectionId) -> Response:
    """The jobs table and the models' sync status: the page polls them while a job is active."""
    jobs, status = await asyncio.gather(
        _jobs(console, connection_id),
        console.api("GET", f"/v1/connections/{connection_id}/sync-status"))
    return console.page("live_parts.html", jobs=jobs, models=status["data_models"],
                        c={"id": connection_id})


@router.post("/console/connections/{connection_id}/sync")
async def start_sync(console: Action, connection_id: ConnectionId,
                     mode: Annotated[str, Form()] = "incremental",
                     sync_from: Annotated[str, Form()] = "",
                     data_model: Annotated[str, Form()] = "") -> Response:
    """Refresh (incremental, every enabled model), a full sync, or one from a date."""
    body: dict[str, Any] = {"full_sync": mode == "full"}
    if mode == "from_date":
        status = await console.api("GET", f"/v1/connections/{connection_id}/sync-status")
        models = [data_model] if data_model else [
            m["data_model"] for m in status["data_models"] if m["status"] != "DISABLED"]
        body["data_models_to_sync"] = [{"data_model": m, "sync_from": sync_from} for m in models]
    jobs = await console.api("POST", f"/v1/connections/{connection_id}/sync", json=body)
    return back(f"/console/connections/{connection_id}?notice=Started+{len(jobs)}+sync+job(s)")


@router.post("/console/connections/{connection_id}/status")
async def set_status(console: Action, connection_id: ConnectionId,
                     status: Annotated[str, Form()]) -> Response:
    """Disconnect, or ask the end user to reconnect (the connect page link is then shown)."""
    await console.api("PATCH", f"/v1/connections/{connection_id}", json={"status": status})
    return back(f"/console/connections/{connection_id}?notice=Status+set+to+{status}")


@router.post("/console/connections/{connection_id}/deletions/{data_model}")
async def confirm_deletions(console: Action, connection_id: ConnectionId,
                            data_model: DataModel) -> Response:
    where = f"/v1/connections/{connection_id}/records/{data_model}/deletions/confirm"
    await console.api("POST", where)
    return back(f"/console/connections/{connection_id}?notice=Held+deletions+confirmed")
