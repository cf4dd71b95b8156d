"""Providers catalogue and the project's sync config (owned by the connections service)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from ferry_contracts.internal.connections import SyncConfigIn

from ..auth import CurrentPrincipal
from ..upstream import relay
from .deps import Api

router = APIRouter(tags=["sync config"])

__all__ = ["SyncConfigIn", "router"]


@router.get("/v1/providers", tags=["providers"])
async def providers(principal: CurrentPrincipal, api: Api) -> Response:
    # `configured` is said for the caller's project only.
    return relay(await api.connections.providers(principal.project.id))


@router.get("/v1/sync-config")
async def get_sync_config(principal: CurrentPrincipal, api: Api) -> Response:
    principal.require_server()
    return relay(await api.connections.sync_config(principal.project.id))


@router.put("/v1/sync-config")
async def put_sync_config(body: SyncConfigIn, principal: CurrentPrincipal, api: Api) -> Response:
    principal.require_server()
    return relay(await api.connections.put_sync_config(principal.project.id, body))
