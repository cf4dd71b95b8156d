"""A project's own apps at providers (integrations), owned by the connections service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ..auth import CurrentPrincipal, Principal
from ..upstream import call, path, relay
from .deps import Up
from .params import ProviderName

router = APIRouter(tags=["integrations"])
_URL = r"^https?://[^\s\x00-\x1f\x7f/?#]+(/[^\s\x00-\x1f\x7f?#]*)?$"


class IntegrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(None, min_length=1, max_length=1024,
                                  description="The app's client id (required for OAuth providers)")
    client_secret: str | None = Field(
        None, min_length=1, max_length=4096,
        description="Stored encrypted, never returned; omitted: the stored one is kept")
    scopes: list[str] = Field([], max_length=200, description="Scopes asked for on top of the "
                              "ones the data models need")
    api_base_url: str | None = Field(None, max_length=2048, pattern=_URL,
                                     description="Replaces the provider's API base URL")
    auth_base_url: str | None = Field(None, max_length=2048, pattern=_URL,
                                      description="Replaces where browsers reach the provider")


class IntegrationOut(BaseModel):
    provider: str
    client_id: str | None
    scopes: list[str]
    api_base_url: str | None
    auth_base_url: str | None
    created_at: str
    updated_at: str


def _where(principal: Principal, *rest: str) -> str:
    principal.require_server()
    return path("internal", "projects", principal.project.id, "integrations", *rest)


@router.put("/v1/integrations/{provider}", response_model=IntegrationOut)
async def put_integration(provider: ProviderName, body: IntegrationIn, principal: CurrentPrincipal,
                          up: Up) -> Any:
    payload = body.model_dump(mode="json", exclude_unset=True)
    return relay(await call(up.connections, "PUT", _where(principal, provider), json=payload))


@router.get("/v1/integrations")
async def list_integrations(principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.connections, "GET", _where(principal)))


@router.get("/v1/integrations/{provider}", response_model=IntegrationOut)
async def get_integration(provider: ProviderName, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.connections, "GET", _where(principal, provider)))


@router.delete("/v1/integrations/{provider}", status_code=204, response_class=Response,
               response_model=None)
async def delete_integration(provider: ProviderName, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.connections, "DELETE", _where(principal, provider)))
