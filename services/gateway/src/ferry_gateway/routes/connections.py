"""End users' connections (seed 004), proxied to the connections service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from ferry_contracts import values
from ferry_contracts.internal.connections import ConnectionIn, ConnectionPatch
from ferry_kit.errors import NotFound

from ..auth import CurrentPrincipal, Principal
from ..upstream import Clients, relay
from .deps import Api, connection_of
from .params import ConnectionId, UserId

router = APIRouter(tags=["connections"])
Status = values.ConnectionStatus


@router.post("/v1/users/{user_id}/connections", status_code=201)
async def create_connection(user_id: UserId, body: ConnectionIn, principal: CurrentPrincipal,
                            api: Api) -> Response:
    principal.require_user(user_id)
    return relay(await api.connections.create_connection(principal.project.id, user_id, body))


@router.get("/v1/users/{user_id}/connections")
async def list_connections(user_id: UserId, principal: CurrentPrincipal, api: Api) -> Response:
    principal.require_user(user_id)
    return relay(await api.connections.user_connections(principal.project.id, user_id))


@router.get("/v1/users/{user_id}/connections/{connection_id}")
async def get_user_connection(
    user_id: UserId, connection_id: ConnectionId, principal: CurrentPrincipal, api: Api
) -> dict[str, Any]:
    principal.require_user(user_id)
    connection = await connection_of(api, principal, connection_id)
    if connection.user_id != user_id:
        raise NotFound(f"no connection {connection_id} for user {user_id}")
    return connection.public()


@router.get("/v1/connections")
async def search_connections(
    principal: CurrentPrincipal, api: Api,
    user_id: str | None = Query(None, pattern=r"^[A-Za-z0-9_~@:+=.-]{1,255}$"),
    provider_name: str | None = Query(None, pattern=r"^[a-z][a-z0-9_]{0,62}$"),
    status: Status | None = None,
    cursor: str | None = Query(None, pattern=r"^con_[0-9a-f]{32}$"),
    limit: int = Query(50, ge=1, le=200),
) -> Response:
    """The project's connections, newest first: `{"data", "next_cursor", "has_more"}`."""
    principal.require_server()
    params = {"user_id": user_id, "provider_name": provider_name, "status": status,
              "cursor": cursor, "limit": limit}
    return relay(await api.connections.search(principal.project.id, params))


@router.get("/v1/connections/{connection_id}")
async def get_connection(connection_id: ConnectionId, principal: CurrentPrincipal,
                         api: Api) -> dict[str, Any]:
    return (await connection_of(api, principal, connection_id)).public()


@router.get("/v1/connections/{connection_id}/status-history")
async def status_history(connection_id: ConnectionId, principal: CurrentPrincipal,
                         api: Api) -> Response:
    """Every status the connection took: `{"data": [{"status", "previous_status",
    "changed_at"}]}`, oldest first."""
    await connection_of(api, principal, connection_id)
    return relay(await api.connections.status_history(principal.project.id, connection_id))


async def _patch(connection_id: str, body: ConnectionPatch, principal: Principal,
                 api: Clients) -> Response:
    await connection_of(api, principal, connection_id)
    return relay(await api.connections.patch(principal.project.id, connection_id, body))


async def _delete(connection_id: str, principal: Principal, api: Clients) -> Response:
    await connection_of(api, principal, connection_id)
    return relay(await api.connections.delete(principal.project.id, connection_id))


@router.patch("/v1/users/{user_id}/connections/{connection_id}")
async def patch_user_connection(user_id: UserId, connection_id: ConnectionId,
                                body: ConnectionPatch, principal: CurrentPrincipal,
                                api: Api) -> Response:
    principal.require_user(user_id)
    return await _patch(connection_id, body, principal, api)


@router.patch("/v1/connections/{connection_id}")
async def patch_connection(connection_id: ConnectionId, body: ConnectionPatch,
                           principal: CurrentPrincipal, api: Api) -> Response:
    return await _patch(connection_id, body, principal, api)


@router.delete("/v1/users/{user_id}/connections/{connection_id}", status_code=204,
               response_class=Response, response_model=None)
async def delete_user_connection(
    user_id: UserId, connection_id: ConnectionId, principal: CurrentPrincipal, api: Api
) -> Response:
    principal.require_user(user_id)
    return await _delete(connection_id, principal, api)


@router.delete("/v1/connections/{connection_id}", status_code=204, response_class=Response,
               response_model=None)
async def delete_connection(connection_id: ConnectionId, principal: CurrentPrincipal,
                            api: Api) -> Response:
    return await _delete(connection_id, principal, api)
