"""End users' connections (seed 004), proxied to the connections service."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from ferry_contracts import values
from pydantic import BaseModel, ConfigDict, Field

from ..auth import CurrentPrincipal, Principal
from ..errors import ApiError
from ..upstream import Upstreams, call, path, relay
from .catalogue import ModelConfigIn
from .deps import Up, load_connection
from .params import ConnectionId, UserId

router = APIRouter(tags=["connections"])


class ConnectionModelConfigIn(ModelConfigIn):
    sync_from: date | None = None


class ConnectionSyncConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_models: list[ConnectionModelConfigIn]


class Credentials(BaseModel):
    """An API key, or a username and password, given for the end user."""

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = Field(None, min_length=1, max_length=4096)
    username: str | None = Field(None, min_length=1, max_length=1024)
    password: str | None = Field(None, min_length=1, max_length=4096)


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_name: str = Field(min_length=1)
    requested_data_types: list[str] = Field(min_length=1)
    skip_permissions: bool = False
    return_url: str | None = Field(None, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$",
                                   description="http(s), no spaces or control characters; within the "
                                   "project's allowed_return_origins when it lists any")
    sync_config: ConnectionSyncConfigIn | None = None
    connection_config: dict[str, str | int] | None = Field(
        None, description="Values the provider declares (GET /v1/providers `connection_config`): "
        "a missing or invalid one answers 422 naming `connection_config.<field>`")
    credentials: Credentials | None = Field(
        None, description="For api_key and basic providers: stored encrypted, never returned")


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["DISCONNECTED", "AUTH_REQUIRED"] | None = None
    requested_data_types: list[str] | None = Field(None, min_length=1)
    sync_config: ConnectionSyncConfigIn | None = None


def _project(principal: Principal, *rest: str) -> str:
    return path("internal", "projects", principal.project.id, *rest)


@router.post("/v1/users/{user_id}/connections", status_code=201)
async def create_connection(user_id: UserId, body: ConnectionIn, principal: CurrentPrincipal, up: Up) -> Any:
    principal.require_user(user_id)
    where = _project(principal, "users", user_id, "connections")
    payload = body.model_dump(mode="json", exclude_unset=True)
    return relay(await call(up.connections, "POST", where, json=payload))


@router.get("/v1/users/{user_id}/connections")
async def list_connections(user_id: UserId, principal: CurrentPrincipal, up: Up) -> Any:
    principal.require_user(user_id)
    return relay(await call(up.connections, "GET", _project(principal, "users", user_id, "connections")))


@router.get("/v1/users/{user_id}/connections/{connection_id}")
async def get_user_connection(
    user_id: UserId, connection_id: ConnectionId, principal: CurrentPrincipal, up: Up
) -> Any:
    principal.require_user(user_id)
    connection = await load_connection(up, principal, connection_id)
    if connection["user_id"] != user_id:
        raise ApiError(404, "not_found", f"no connection {connection_id} for user {user_id}")
    return connection


Status = values.ConnectionStatus


@router.get("/v1/connections")
async def search_connections(
    principal: CurrentPrincipal, up: Up,
    user_id: str | None = Query(None, pattern=r"^[A-Za-z0-9_~@:+=.-]{1,255}$"),
    provider_name: str | None = Query(None, pattern=r"^[a-z][a-z0-9_]{0,62}$"),
    status: Status | None = None,
    cursor: str | None = Query(None, pattern=r"^con_[0-9a-f]{32}$"),
    limit: int = Query(50, ge=1, le=200),
) -> Any:
    """The project's connections, newest first: `{"data", "next_cursor", "has_more"}`."""
    principal.require_server()
    params = {"user_id": user_id, "provider_name": provider_name, "status": status,
              "cursor": cursor, "limit": limit}
    return relay(await call(up.connections, "GET", _project(principal, "connections"),
                            params=params))


@router.get("/v1/connections/{connection_id}")
async def get_connection(connection_id: ConnectionId, principal: CurrentPrincipal, up: Up) -> Any:
    return await load_connection(up, principal, connection_id)


@router.get("/v1/connections/{connection_id}/status-history")
async def status_history(connection_id: ConnectionId, principal: CurrentPrincipal, up: Up) -> Any:
    """Every status the connection took: `{"data": [{"status", "previous_status",
    "changed_at"}]}`, oldest first."""
    await load_connection(up, principal, connection_id)
    where = _project(principal, "connections", connection_id, "status-history")
    return relay(await call(up.connections, "GET", where))


async def _patch(connection_id: str, body: ConnectionPatch, principal: Principal, up: Upstreams) -> Any:
    await load_connection(up, principal, connection_id)
    where = _project(principal, "connections", connection_id)
    payload = body.model_dump(mode="json", exclude_unset=True)
    return relay(await call(up.connections, "PATCH", where, json=payload))


async def _delete(connection_id: str, principal: Principal, up: Upstreams) -> Any:
    await load_connection(up, principal, connection_id)
    return relay(await call(up.connections, "DELETE", _project(principal, "connections", connection_id)))


@router.patch("/v1/users/{user_id}/connections/{connection_id}")
async def patch_user_connection(
    user_id: UserId, connection_id: ConnectionId, body: ConnectionPatch, principal: CurrentPrincipal, up: Up
) -> Any:
    principal.require_user(user_id)
    return await _patch(connection_id, body, principal, up)


@router.patch("/v1/connections/{connection_id}")
async def patch_connection(
    connection_id: ConnectionId, body: ConnectionPatch, principal: CurrentPrincipal, up: Up
) -> Any:
    return await _patch(connection_id, body, principal, up)


@router.delete("/v1/users/{user_id}/connections/{connection_id}", status_code=204,
               response_class=Response, response_model=None)
async def delete_user_connection(
    user_id: UserId, connection_id: ConnectionId, principal: CurrentPrincipal, up: Up
) -> Any:
    principal.require_user(user_id)
    return await _delete(connection_id, principal, up)


@router.delete("/v1/connections/{connection_id}", status_code=204, response_class=Response,
               response_model=None)
async def delete_connection(connection_id: ConnectionId, principal: CurrentPrincipal, up: Up) -> Any:
    return await _delete(connection_id, principal, up)
