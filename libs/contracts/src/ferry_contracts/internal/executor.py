"""The executor's internal API: sync jobs and write-back."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .base import Params, Reply, Transport, path


class JobOut(BaseModel):
    """A sync job's JSON (API.md); the field the gateway reads is typed, the rest kept."""

    model_config = ConfigDict(extra="allow")

    id: str
    connection_id: str

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class RecordWrite(BaseModel):
    """`POST .../records/{model}` and `PATCH .../records/{model}/{record_id}`"""

    data: dict[str, Any]
    project_id: str


class ExecutorClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

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
