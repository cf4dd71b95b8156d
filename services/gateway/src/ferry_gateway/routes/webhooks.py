"""Webhook endpoints and messages, proxied to the webhooks service (server calls only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ..auth import CurrentPrincipal
from ..upstream import call, relay
from .deps import Up

router = APIRouter(tags=["webhooks"])


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] | None = None
    description: str | None = Field(None, max_length=500)


class ReplayFailedIn(BaseModel):
    since: datetime


def _base(principal: Any) -> str:
    principal.require_server()
    return f"/internal/projects/{principal.project.id}"


@router.post("/v1/webhook-endpoints", status_code=201)
async def create_endpoint(body: EndpointIn, principal: CurrentPrincipal, up: Up) -> Any:
    payload = body.model_dump(mode="json", exclude_unset=True)
    return relay(await call(up.webhooks, "POST", f"{_base(principal)}/webhook-endpoints", json=payload))


@router.get("/v1/webhook-endpoints")
async def list_endpoints(principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "GET", f"{_base(principal)}/webhook-endpoints"))


@router.get("/v1/webhook-endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: str, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "GET", f"{_base(principal)}/webhook-endpoints/{endpoint_id}"))


@router.delete("/v1/webhook-endpoints/{endpoint_id}", status_code=204, response_class=Response, response_model=None)
async def delete_endpoint(endpoint_id: str, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "DELETE", f"{_base(principal)}/webhook-endpoints/{endpoint_id}"))


@router.post("/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
async def rotate_secret(endpoint_id: str, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "POST", f"{_base(principal)}/webhook-endpoints/{endpoint_id}/rotate-secret"))


@router.post("/v1/webhook-endpoints/{endpoint_id}/replay-failed")
async def replay_failed(endpoint_id: str, body: ReplayFailedIn, principal: CurrentPrincipal, up: Up) -> Any:
    path = f"{_base(principal)}/webhook-endpoints/{endpoint_id}/replay-failed"
    return relay(await call(up.webhooks, "POST", path, json=body.model_dump(mode="json")))


@router.get("/v1/webhook-messages")
async def list_messages(
    principal: CurrentPrincipal,
    up: Up,
    endpoint_id: str | None = None,
    event_type: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Any:
    params = {"endpoint_id": endpoint_id, "event_type": event_type, "status": status, "limit": limit, "cursor": cursor}
    return relay(await call(up.webhooks, "GET", f"{_base(principal)}/webhook-messages", params=params))


@router.post("/v1/webhook-messages/{message_id}/replay")
async def replay_message(message_id: str, principal: CurrentPrincipal, up: Up) -> Any:
    return relay(await call(up.webhooks, "POST", f"{_base(principal)}/webhook-messages/{message_id}/replay"))
