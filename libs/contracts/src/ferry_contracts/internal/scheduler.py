"""The scheduler's internal API: schedules and the sync status of a connection's models."""

from __future__ import annotations

from pydantic import BaseModel

from ..values import SyncStatus
from .base import IsoTime, Transport, path


class ScheduleOut(BaseModel):
    data_model: str
    frequency: str
    interval_minutes: int
    next_run_at: IsoTime
    next_full_sync_at: IsoTime
    paused: bool
    last_run_at: IsoTime | None


class SchedulesOut(BaseModel):
    """`GET /internal/connections/{cid}/schedules`"""

    schedules: list[ScheduleOut]


class ModelSyncStatusOut(BaseModel):
    data_model: str
    status: SyncStatus
    last_synced_at: IsoTime | None
    next_sync_at: IsoTime | None
    last_error: str | None
    held_deletions: int = 0


class SyncStatusOut(BaseModel):
    """`GET /internal/connections/{cid}/sync-status`, the body of the public sync-status."""

    data_models: list[ModelSyncStatusOut]


class SchedulerClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def schedules(self, connection_id: str) -> SchedulesOut:
        where = path("internal", "connections", connection_id, "schedules")
        return SchedulesOut.model_validate(await self._t.fetch("GET", where))

    async def sync_status(self, connection_id: str) -> SyncStatusOut:
        where = path("internal", "connections", connection_id, "sync-status")
        return SyncStatusOut.model_validate(await self._t.fetch("GET", where))
