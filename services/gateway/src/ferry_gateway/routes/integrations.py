"""A project's own apps at providers (integrations), owned by the connections service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from ferry_contracts.internal.connections import IntegrationIn, IntegrationOut

from ..auth import CurrentPrincipal, Principal
from ..upstream import relay
from .deps import Api
from .params import ProviderName

router = APIRouter(tags=["integrations"])


def _project(principal: Principal) -> str:
    principal.require_server()
    return principal.project.id


@router.put("/v1/integrations/{provider}", response_model=IntegrationOut)
async def put_integration(provider: ProviderName, body: IntegrationIn, principal: CurrentPrincipal,
                          api: Api) -> Any:
    return relay(await api.connections.integration("PUT", _project(principal), provider,
                                                   body=body))


@router.get("/v1/integrations")
async def list_integrations(principal: CurrentPrincipal, api: Api) -> Response:
    return relay(await api.connections.integration("GET", _project(principal)))


@router.get("/v1/integrations/{provider}", response_model=IntegrationOut)
async def get_integration(provider: ProviderName, principal: CurrentPrincipal, api: Api) -> Any:
    return relay(await api.connections.integration("GET", _project(principal), provider))


@router.delete("/v1/integrations/{provider}", status_code=204, response_class=Response,
               response_model=None)
async def delete_integration(provider: ProviderName, principal: CurrentPrincipal, api: Api) -> Any:
    return relay(await api.connections.integration("DELETE", _project(principal), provider))
