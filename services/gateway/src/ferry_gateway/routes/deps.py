"""Shared route dependencies: upstream clients, the job board and connection ownership
checks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from ferry_contracts.internal.connections import ConnectionOut

from ..auth import Principal
from ..jobcache import JobBoard
from ..upstream import Clients, Upstreams


# Dependencies are coroutines: FastAPI runs a plain function in its thread pool, a hop to a
# worker thread and back on every request.
async def upstreams(request: Request) -> Upstreams:
    found: Upstreams = request.app.state.upstreams
    return found


async def clients(request: Request) -> Clients:
    found: Upstreams = request.app.state.upstreams
    return found.clients


async def job_board(request: Request) -> JobBoard:
    found: JobBoard = request.app.state.job_board
    return found


Up = Annotated[Upstreams, Depends(upstreams)]
Api = Annotated[Clients, Depends(clients)]
Board = Annotated[JobBoard, Depends(job_board)]


async def connection_of(api: Clients, principal: Principal, connection_id: str) -> ConnectionOut:
    """The connection if it exists in the caller's project and the caller may see it."""
    connection = await api.connections.connection(principal.project.id, connection_id)
    principal.require_user(connection.user_id)
    return connection


async def load_connection(
    up: Upstreams, principal: Principal, connection_id: str
) -> dict[str, Any]:
    """`connection_of` as the JSON the connections service answered."""
    return (await connection_of(up.clients, principal, connection_id)).public()
