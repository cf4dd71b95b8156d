"""The executor's internal API: sync jobs and write-back."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .base import Params, Reply, Transport, path


class JobOut(BaseModel):
    """A sync job's JSON (API.md); the fields the gateway reads are typed, the rest kept."""

    model_config = ConfigDict(extra="allow")

    id: str
    connection_id: str
    # The project the job was made in (None on a job older than the field): the gateway checks
    # a secret-key caller's ownership on it, without asking the connections service.
    project_id: str | None = None
    # The job row's version (as `sync.job.changed` says it); internal, not shown publicly.
    version: int | None = None

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True, exclude={"version"})


class ModelToSync(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_model: str = Field(min_length=1)
    sync_from: date | None = None


class SyncIn(BaseModel):
    """The public body of `POST /v1/connections/{id}/sync` (API.md)."""

    model_config = ConfigDict(extra="forbid")

    full_sync: bool = False
    data_models_to_sync: list[ModelToSync] | None = None


class ManualSyncIn(SyncIn):
    """`POST /internal/connections/{id}/syncs`: the public body and the project it is made in;
    the executor checks it (409 `connection_not_connected`, 422 on a model not enabled)."""

    project_id: str = Field(min_length=1)


class RecordWrite(BaseModel):
    """`POST .../records/{model}` and `PATCH .../records/{model}/{record_id}`"""

    data: dict[str, Any]
    project_id: str


class ExecutorClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def request_sync(self, connection_id: str, body: ManualSyncIn) -> Reply:
        where = path("internal", "connections", connection_id, "syncs")
        return await self._t.send("POST", where, json=body.model_dump(mode="json"))

    async def jobs(self, connection_id: str, params: Params) -> Reply:
        where = path("internal", "connections", connection_id, "syncs")
        return await self._t.send("GET", where, params=params)

    async def job(self, job_id: str) -> JobOut:
        return JobOut.model_validate(await self._t.fetch("GET", path("internal", "syncs", job_id)))

    async def cancel(self, job_id: str) -> Reply:
        return await self._t.send("POST", path("internal", "syncs", job_id, "cancel"))

    async def write(self, connection_id: str, data_model: str, body: RecordWrite,
                    record_id: str | None = None) -> Reply:
        """Create a record at the provider (no `record_id`) or update one."""
        where = path("internal", "connections", connection_id, "records", data_model.upper(),
                     *([record_id] if record_id is not None else []))
        method = "POST" if record_id is None else "PATCH"
        return await self._t.send(method, where, json=body.model_dump(mode="json"))
