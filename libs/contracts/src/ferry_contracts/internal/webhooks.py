"""The webhooks service's internal API: a project's endpoints and messages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .base import Params, Reply, Transport, path


class EndpointIn(BaseModel):
    """`POST /internal/projects/{pid}/webhook-endpoints`"""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] | None = None
    description: str | None = Field(None, max_length=500)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(description="false pauses deliveries (messages wait); true resumes")


class ReplayFailedIn(BaseModel):
    since: datetime


class WebhooksClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _endpoints(self, project_id: str, *rest: str) -> str:
        return path("internal", "projects", project_id, "webhook-endpoints", *rest)

    async def create_endpoint(self, project_id: str, body: EndpointIn) -> Reply:
        payload = body.model_dump(mode="json", exclude_unset=True)
        return await self._t.send("POST", self._endpoints(project_id), json=payload)

    async def endpoints(self, project_id: str) -> Reply:
        return await self._t.send("GET", self._endpoints(project_id))

    async def endpoint(self, method: str, project_id: str, endpoint_id: str) -> Reply:
        """GET or DELETE one endpoint."""
        return await self._t.send(method, self._endpoints(project_id, endpoint_id))

    async def patch_endpoint(self, project_id: str, endpoint_id: str, body: EndpointPatch) -> Reply:
        where = self._endpoints(project_id, endpoint_id)
        return await self._t.send("PATCH", where, json=body.model_dump())

    async def rotate_secret(self, project_id: str, endpoint_id: str) -> Reply:
        return await self._t.send("POST", self._endpoints(project_id, endpoint_id, "rotate-secret"))

    async def replay_failed(self, project_id: str, endpoint_id: str, body: ReplayFailedIn) -> Reply:
        where = self._endpoints(project_id, endpoint_id, "replay-failed")
        return await self._t.send("POST", where, json=body.model_dump(mode="json"))

    async def messages(self, project_id: str, params: Params) -> Reply:
        where = path("internal", "projects", project_id, "webhook-messages")
        return await self._t.send("GET", where, params=params)

    async def replay(self, project_id: str, message_id: str) -> Reply:
        where = path("internal", "projects", project_id, "webhook-messages", message_id, "replay")
        return await self._t.send("POST", where)
