"""Webhooks: endpoints (the secret shown once), messages with every attempt, replays."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from ..routes.params import EndpointId, MessageId
from .web import Action, Page, back

router = APIRouter()


@router.get("/console/webhooks")
async def webhooks_page(console: Page, endpoint_id: str = "", status: str = "") -> Response:
    endpoints = await console.api("GET", "/v1/webhook-endpoints")
    messages = await console.api("GET", "/v1/webhook-messages",
                                 params={"endpoint_id": endpoint_id, "status": status})
    return console.page("webhooks.html", endpoints=endpoints["data"], messages=messages["data"],
                        query={"endpoint_id": endpoint_id, "status": status}, secret=None)


@router.post("/console/webhooks")
async def create_endpoint(console: Action, url: Annotated[str, Form()],
                          description: Annotated[str, Form()] = "") -> Response:
    created = await console.api("POST", "/v1/webhook-endpoints",
                                json={"url": url, "description": description or None})
    return await _secret_once(console, created)


async def _secret_once(console: Action, endpoint: dict) -> Response:
    """The secret is in this answer only: it is never stored in the browser or shown again."""
    endpoints = await console.api("GET", "/v1/webhook-endpoints")
    messages = await console.api("GET", "/v1/webhook-messages")
    response = console.page("webhooks.html", endpoints=endpoints["data"],
                            messages=messages["data"], query={}, secret=endpoint)
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/console/webhooks/{endpoint_id}/rotate")
async def rotate(console: Action, endpoint_id: EndpointId) -> Response:
    rotated = await console.api("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
    return await _secret_once(console, {**rotated, "id": endpoint_id})


@router.post("/console/webhooks/{endpoint_id}/enabled")
async def set_enabled(console: Action, endpoint_id: EndpointId,
                      enabled: Annotated[bool, Form()]) -> Response:
    await console.api("PATCH", f"/v1/webhook-endpoints/{endpoint_id}", json={"enabled": enabled})
    return back("/console/webhooks")


@router.post("/console/webhooks/{endpoint_id}/delete")
async def delete(console: Action, endpoint_id: EndpointId) -> Response:
    await console.api("DELETE", f"/v1/webhook-endpoints/{endpoint_id}")
    return back("/console/webhooks")


@router.post("/console/webhooks/{endpoint_id}/replay-failed")
async def replay_failed(console: Action, endpoint_id: EndpointId) -> Response:
    await console.api("POST", f"/v1/webhook-endpoints/{endpoint_id}/replay-failed", json={})
    return back(f"/console/webhooks?endpoint_id={endpoint_id}")


@router.post("/console/webhook-messages/{message_id}/replay")
async def replay(console: Action, message_id: MessageId) -> Response:
    await console.api("POST", f"/v1/webhook-messages/{message_id}/replay")
    return back("/console/webhooks")


@router.get("/console/integrations")
async def integrations_page(console: Page) -> Response:
    apps = await console.api("GET", "/v1/integrations")
    providers = await console.api("GET", "/v1/providers")
    return console.page("integrations.html", apps=apps.get("data", apps), providers=providers)
