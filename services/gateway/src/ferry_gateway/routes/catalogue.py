"""Providers catalogue and the project's sync config (owned by the connections service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from ferry_contracts.values import Access, Frequency
from pydantic import BaseModel, ConfigDict, Field

from ..auth import CurrentPrincipal, Principal
from ..upstream import call, path, relay
from .deps import Up

router = APIRouter(tags=["sync config"])


class ModelConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_model: str = Field(min_length=1)
    frequency: Frequency = "DAILY"
    interval_minutes: int | None = Field(None, ge=1)
    access: Access = "READ"


class SyncConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_models: list[ModelConfigIn] = []
    full_sync_interval_hours: int = Field(24, ge=1, le=24 * 31)
    record_events_on_initial_sync: bool = False
    allowed_return_origins: list[str] = Field(
        [], max_length=100, description="Origins (`https://app.example.com`) a connection's "
        "`return_url` may use; empty: any. Other return_url origins answer 422.")


def _config_path(principal: Principal) -> str:
    return path("internal", "projects", principal.project.id, "sync-config")


@router.get("/v1/providers", tags=["providers"])
async def providers(principal: CurrentPrincipal, up: Up) -> Any:
    # `configured` is said for the caller's project only.
    return relay(await call(up.connections, "GET", "/internal/providers",
                            params={"project_id": principal.project.id}))


@router.get("/v1/sync-config")
async def get_sync_config(principal: CurrentPrincipal, up: Up) -> Any:
    principal.require_server()
    return relay(await call(up.connections, "GET", _config_path(principal)))


@router.put("/v1/sync-config")
async def put_sync_config(body: SyncConfigIn, principal: CurrentPrincipal, up: Up) -> Any:
    principal.require_server()
    payload = body.model_dump(mode="json", exclude_unset=True)
    return relay(await call(up.connections, "PUT", _config_path(principal), json=payload))
