"""The connections service's internal API: catalogue, sync config, integrations, connections."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..values import Access, Frequency
from .base import Params, Reply, Transport, path

_URL = r"^https?://[^\s\x00-\x1f\x7f/?#]+(/[^\s\x00-\x1f\x7f?#]*)?$"


class ModelConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_model: str = Field(min_length=1)
    frequency: Frequency = "DAILY"
    interval_minutes: int | None = Field(None, ge=1)
    access: Access = "READ"


class SyncConfigIn(BaseModel):
    """`PUT /internal/projects/{pid}/sync-config`"""

    model_config = ConfigDict(extra="forbid")

    data_models: list[ModelConfigIn] = []
    full_sync_interval_hours: int = Field(24, ge=1, le=24 * 31)
    record_events_on_initial_sync: bool = False
    allowed_return_origins: list[str] = Field(
        [], max_length=100, description="Origins (`https://app.example.com`) a connection's "
        "`return_url` may use; empty: any. Other return_url origins answer 422.")


class ConnectionModelConfigIn(ModelConfigIn):
    sync_from: date | None = None


class ConnectionSyncConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_models: list[ConnectionModelConfigIn]


class Credentials(BaseModel):
    """An API key, or a username and password, given for the end user."""

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = Field(None, min_length=1, max_length=4096, repr=False)
    username: str | None = Field(None, min_length=1, max_length=1024)
    password: str | None = Field(None, min_length=1, max_length=4096, repr=False)


class ConnectionIn(BaseModel):
    """`POST /internal/projects/{pid}/users/{uid}/connections`"""

    model_config = ConfigDict(extra="forbid")

    provider_name: str = Field(min_length=1)
    requested_data_types: list[str] = Field(min_length=1)
    skip_permissions: bool = False
    return_url: str | None = Field(
        None, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$",
        description="http(s), no spaces or control characters; within the project's "
        "allowed_return_origins when it lists any")
    sync_config: ConnectionSyncConfigIn | None = None
    connection_config: dict[str, str | int] | None = Field(
        None, description="Values the provider declares (GET /v1/providers `connection_config`): "
        "a missing or invalid one answers 422 naming `connection_config.<field>`")
    credentials: Credentials | None = Field(
        None, description="For api_key and basic providers: stored encrypted, never returned")


class ConnectionPatch(BaseModel):
    """`PATCH /internal/projects/{pid}/connections/{cid}`"""

    model_config = ConfigDict(extra="forbid")

    status: Literal["DISCONNECTED", "AUTH_REQUIRED"] | None = None
    requested_data_types: list[str] | None = Field(None, min_length=1)
    sync_config: ConnectionSyncConfigIn | None = None


class IntegrationIn(BaseModel):
    """`PUT /internal/projects/{pid}/integrations/{provider}`"""

    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(None, min_length=1, max_length=1024,
                                  description="The app's client id (required for OAuth providers)")
    client_secret: str | None = Field(
        None, min_length=1, max_length=4096, repr=False,
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


class ResolvedModel(BaseModel):
    """One model of a connection's resolved sync config (extra fields kept as they came)."""

    model_config = ConfigDict(extra="allow")

    data_model: str
    access: Access = "READ"


class ConnectionOut(BaseModel):
    """The connection JSON of API.md plus `project_id` and `resolved_sync_config`; the fields
    the gateway reads are typed, the rest are kept as they came."""

    model_config = ConfigDict(extra="allow")

    id: str
    user_id: str
    provider_name: str
    status: str
    resolved_sync_config: list[ResolvedModel] = []

    def public(self) -> dict[str, Any]:
        """The JSON exactly as the service answered it."""
        return self.model_dump(mode="json", exclude_unset=True)

    def access_of(self, data_model: str) -> Access | None:
        for m in self.resolved_sync_config:
            if m.data_model.upper() == data_model.upper():
                return m.access
        return None


def _dump(body: BaseModel) -> Any:
    return body.model_dump(mode="json", exclude_unset=True)


class ConnectionsClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _project(self, project_id: str, *rest: str) -> str:
        return path("internal", "projects", project_id, *rest)

    async def providers(self, project_id: str) -> Reply:
        return await self._t.send("GET", path("internal", "providers"),
                                  params={"project_id": project_id})

    async def sync_config(self, project_id: str) -> Reply:
        return await self._t.send("GET", self._project(project_id, "sync-config"))

    async def put_sync_config(self, project_id: str, body: SyncConfigIn) -> Reply:
        where = self._project(project_id, "sync-config")
        return await self._t.send("PUT", where, json=_dump(body))

    async def integration(self, method: str, project_id: str, *provider: str,
                          body: IntegrationIn | None = None) -> Reply:
        """GET the list (no provider); GET, DELETE or PUT (with `body`) one provider's app."""
        where = self._project(project_id, "integrations", *provider)
        return await self._t.send(method, where, json=_dump(body) if body else None)

    async def create_connection(self, project_id: str, user_id: str, body: ConnectionIn) -> Reply:
        where = self._project(project_id, "users", user_id, "connections")
        return await self._t.send("POST", where, json=_dump(body))

    async def user_connections(self, project_id: str, user_id: str) -> Reply:
        return await self._t.send("GET", self._project(project_id, "users", user_id, "connections"))

    async def search(self, project_id: str, params: Params) -> Reply:
        return await self._t.send("GET", self._project(project_id, "connections"), params=params)

    async def connection(self, project_id: str, connection_id: str) -> ConnectionOut:
        where = self._project(project_id, "connections", connection_id)
        return ConnectionOut.model_validate(await self._t.fetch("GET", where))

    async def status_history(self, project_id: str, connection_id: str) -> Reply:
        where = self._project(project_id, "connections", connection_id, "status-history")
        return await self._t.send("GET", where)

    async def patch(self, project_id: str, connection_id: str, body: ConnectionPatch) -> Reply:
        where = self._project(project_id, "connections", connection_id)
        return await self._t.send("PATCH", where, json=_dump(body))

    async def delete(self, project_id: str, connection_id: str) -> Reply:
        return await self._t.send("DELETE", self._project(project_id, "connections", connection_id))
