"""Webhook endpoints and messages, proxied to the webhooks service (server calls only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ..auth import CurrentPrincipal, Principal
from ..upstream import call, path, relay
from .deps import Up
from .params import EndpointId, MessageId

router = APIRouter(tags=["webhooks"])


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] | None = None
    description: str | None = Field(None, max_length=500)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(description="false pauses deliveries (messages wait); true resumes")


class ReplayFailedIn(BaseModel):
    since: datetime


def _project(principal: Principal, *rest: str) -> str:
    principal.require_server()
    return path("internal", "projects", principal.project.id, *rest)


def _endpoint(principal: Principal, endpoint_id: str, *rest: str) -> str:
    return _project(principal, "webhook-endpoints", endpoint_id, *rest)


@router.post("/v1/webhook-endpoints", status_code=201)
async def create_endpoint(body: EndpointIn, principal: CurrentPrincipal, up: Up) -> Any:
    payload = body.model_dump(mode="json", exclude_unset=True)
    where = _project(principal, "webhook-endpoints")
    return relay(await call(up.webhooks, "POST", where, json=payload))


@router.get("/v1/webhook-endpoints")
async def list_endpoints(principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "GET", _project(principal, "webhook-endpoints")))


@router.get("/v1/webhook-endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: EndpointId, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "GET", _endpoint(principal, endpoint_id)))


@router.delete("/v1/webhook-endpoints/{endpoint_id}", status_code=204, response_class=Response,
               response_model=None)
async def delete_endpoint(endpoint_id: EndpointId, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "DELETE", _endpoint(principal, endpoint_id)))


@router.patch("/v1/webhook-endpoints/{endpoint_id}")
async def patch_endpoint(endpoint_id: EndpointId, body: EndpointPatch, principal: CurrentPrincipal,
                         up: Up) -> Any:
    """Disable (pause) or re-enable an endpoint."""
    principal.require_server()
    return relay(await call(up.webhooks, "PATCH", _endpoint(principal, endpoint_id),
                            json=body.model_dump()))


@router.post("/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
async def rotate_secret(endpoint_id: EndpointId, principal: CurrentPrincipal, up: Up) -> Any:
    where = _endpoint(principal, endpoint_id, "rotate-secret")
    return relay(await call(up.webhooks, "POST", where))


@router.post("/v1/webhook-endpoints/{endpoint_id}/replay-failed")
async def replay_failed(
    endpoint_id: EndpointId, body: ReplayFailedIn, principal: CurrentPrincipal, up: Up
) -> Any:
    where = _endpoint(principal, endpoint_id, "replay-failed")
    return relay(await call(up.webhooks, "POST", where, json=body.model_dump(mode="json")))


@router.get("/v1/webhook-messages")
async def list_messages(
    principal: CurrentPrincipal,
    up: Up,
    endpoint_id: str | None = Query(None, pattern=r"^ep_[0-9a-f]{32}$"),
    event_type: str | None = Query(None, pattern=r"^[a-z_]{1,64}$"),
    status: str | None = Query(None, pattern=r"^[a-z_]{1,32}$"),
    limit: int | None = Query(None, ge=1, le=200),
    cursor: str | None = Query(None, pattern=r"^[A-Za-z0-9_-]{1,128}$"),
) -> Any:
    params = {"endpoint_id": endpoint_id, "event_type": event_type, "status": status,
              "limit": limit, "cursor": cursor}
    where = _project(principal, "webhook-messages")
    return relay(await call(up.webhooks, "GET", where, params=params))


@router.post("/v1/webhook-messages/{message_id}/replay")
async def replay_message(message_id: MessageId, principal: CurrentPrincipal, up: Up) -> Any:
    where = _project(principal, "webhook-messages", message_id, "replay")
    return relay(await call(up.webhooks, "POST", where))
