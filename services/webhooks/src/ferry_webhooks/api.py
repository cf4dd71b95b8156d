"""The webhooks service's internal HTTP API (the gateway proxies /v1/webhook-* here): each
route calls one handler or one view."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Response
from ferry_kit import internal
from ferry_kit.dispatch import RequestRunner
from pydantic import BaseModel, ConfigDict, Field

from . import handlers, views

BASE = "/projects/{project_id}"
ENDPOINT = BASE + "/webhook-endpoints/{endpoint_id}"
Wake = Callable[[], None]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] | None = None
    description: str | None = Field(None, max_length=500)
    ordered: bool = True


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class ReplayFailedIn(BaseModel):
    since: datetime | None = None


def create_api(run: RequestRunner[Any], read: views.Reader, token: str,
               wake: Wake = lambda: None) -> FastAPI:
    """`wake`: the delivery worker's, so a replay goes at once even without LISTEN."""
    app, api = internal.create_app("Ferry webhooks (internal)", token)

    _endpoint_routes(api, run, read)
    _delivery_routes(api, run, read, wake)
    app.include_router(api)
    return app


def _endpoint_routes(api: APIRouter, run: RequestRunner[Any], read: views.Reader) -> None:
    @api.post(BASE + "/webhook-endpoints", status_code=201)
    async def create_endpoint(project_id: str, body: EndpointIn) -> views.EndpointCreated:
        cmd = handlers.CreateEndpoint(project_id, body.url, body.event_types, body.description,
                                      body.ordered)
        return views.EndpointCreated.of(await run(handlers.create_endpoint, cmd))

    @api.get(BASE + "/webhook-endpoints")
    async def list_endpoints(project_id: str) -> views.EndpointsOut:
        return await views.endpoints(read, project_id)

    @api.get(ENDPOINT)
    async def get_endpoint(project_id: str, endpoint_id: str) -> views.EndpointOut:
        return await views.endpoint(read, project_id, endpoint_id)

    @api.delete(ENDPOINT, status_code=204, response_class=Response, response_model=None)
    async def delete_endpoint(project_id: str, endpoint_id: str) -> Response:
        await run(handlers.delete_endpoint, handlers.EndpointRef(project_id, endpoint_id))
        return Response(status_code=204)

    @api.patch(ENDPOINT)
    async def patch_endpoint(project_id: str, endpoint_id: str,
                             body: EndpointPatch) -> views.EndpointOut:
        cmd = handlers.SetEnabled(project_id, endpoint_id, body.enabled)
        return views.EndpointOut.of(await run(handlers.set_enabled, cmd))

    @api.post(ENDPOINT + "/rotate-secret")
    async def rotate_secret(project_id: str, endpoint_id: str) -> views.SecretOut:
        secret = await run(handlers.rotate_secret, handlers.EndpointRef(project_id, endpoint_id))
        return views.SecretOut(id=endpoint_id, secret=secret)


def _delivery_routes(api: APIRouter, run: RequestRunner[Any], read: views.Reader,
                     wake: Wake) -> None:
    """Messages (the delivery log) and replays."""
    @api.post(ENDPOINT + "/replay-failed")
    async def replay_failed(project_id: str, endpoint_id: str,
                            body: ReplayFailedIn | None = None) -> views.ReplayedOut:
        cmd = handlers.ReplayFailed(project_id, endpoint_id, body.since if body else None)
        replayed = await run(handlers.replay_failed, cmd)
        wake()
        return views.ReplayedOut(replayed=replayed)

    @api.get(BASE + "/webhook-messages")
    async def list_messages(
        project_id: str, endpoint_id: str | None = None, event_type: str | None = None,
        status: str | None = None, limit: int = Query(50, ge=1, le=200),
        cursor: str | None = None,
    ) -> views.MessagesOut:
        query = views.MessagesQuery(endpoint_id, event_type, status, limit, cursor)
        return await views.messages(read, project_id, query)

    @api.post(BASE + "/webhook-messages/{message_id}/replay", status_code=202)
    async def replay_message(project_id: str, message_id: str) -> views.MessageReplayedOut:
        replayed = await run(handlers.replay_message, handlers.MessageRef(project_id, message_id))
        wake()
        return views.MessageReplayedOut(id=message_id, replayed=replayed)
