"""Webhook endpoints and messages, proxied to the webhooks service (server calls only)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from ferry_contracts.internal.webhooks import EndpointIn, EndpointPatch, ReplayFailedIn

from ..auth import CurrentPrincipal, Principal
from ..upstream import relay
from .deps import Api
from .params import EndpointId, MessageId

router = APIRouter(tags=["webhooks"])


def _project(principal: Principal) -> str:
    principal.require_server()
    return principal.project.id


@router.post("/v1/webhook-endpoints", status_code=201)
async def create_endpoint(body: EndpointIn, principal: CurrentPrincipal, api: Api) -> Response:
    return relay(await api.webhooks.create_endpoint(_project(principal), body))


@router.get("/v1/webhook-endpoints")
async def list_endpoints(principal: CurrentPrincipal, api: Api) -> Response:
    return relay(await api.webhooks.endpoints(_project(principal)))


@router.get("/v1/webhook-endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: EndpointId, principal: CurrentPrincipal, api: Api) -> Response:
    return relay(await api.webhooks.endpoint("GET", _project(principal), endpoint_id))


@router.delete("/v1/webhook-endpoints/{endpoint_id}", status_code=204, response_class=Response,
               response_model=None)
async def delete_endpoint(endpoint_id: EndpointId, principal: CurrentPrincipal,
                          api: Api) -> Response:
    return relay(await api.webhooks.endpoint("DELETE", _project(principal), endpoint_id))


@router.patch("/v1/webhook-endpoints/{endpoint_id}")
async def patch_endpoint(endpoint_id: EndpointId, body: EndpointPatch, principal: CurrentPrincipal,
                         api: Api) -> Response:
    """Disable (pause) or re-enable an endpoint."""
    return relay(await api.webhooks.patch_endpoint(_project(principal), endpoint_id, body))


@router.post("/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
async def rotate_secret(endpoint_id: EndpointId, principal: CurrentPrincipal, api: Api) -> Response:
    return relay(await api.webhooks.rotate_secret(_project(principal), endpoint_id))


@router.post("/v1/webhook-endpoints/{endpoint_id}/replay-failed")
async def replay_failed(
    endpoint_id: EndpointId, body: ReplayFailedIn, principal: CurrentPrincipal, api: Api
) -> Response:
    return relay(await api.webhooks.replay_failed(_project(principal), endpoint_id, body))


@router.get("/v1/webhook-messages")
async def list_messages(
    principal: CurrentPrincipal,
    api: Api,
    endpoint_id: str | None = Query(None, pattern=r"^ep_[0-9a-f]{32}$"),
    event_type: str | None = Query(None, pattern=r"^[a-z_]{1,64}$"),
    status: str | None = Query(None, pattern=r"^[a-z_]{1,32}$"),
    limit: int | None = Query(None, ge=1, le=200),
    cursor: str | None = Query(None, pattern=r"^[A-Za-z0-9_-]{1,128}$"),
) -> Response:
    params = {"endpoint_id": endpoint_id, "event_type": event_type, "status": status,
              "limit": limit, "cursor": cursor}
    return relay(await api.webhooks.messages(_project(principal), params))


@router.post("/v1/webhook-messages/{message_id}/replay")
async def replay_message(message_id: MessageId, principal: CurrentPrincipal, api: Api) -> Response:
    return relay(await api.webhooks.replay(_project(principal), message_id))
