"""The scheduler's repository: named queries in, domain records out."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import asyncpg

from . import queries as q
from .domain import DueSchedule, KnownConnection, ModelToSync, Schedule, ScheduleSpec


class Repository(Protocol):
    """What handlers and views may ask of the scheduler's storage."""

    async def connection_for_update(self, connection_id: str) -> KnownConnection | None: ...
    async def save_connection(self, c: KnownConnection) -> None: ...
    async def delete_connection(self, connection_id: str) -> None: ...
    async def keep_only_models(self, connection_id: str, keep: list[str]) -> None: ...
    async def save_schedule(
        self, connection_id: str, spec: ScheduleSpec, now: datetime
    ) -> None: ...
    async def take_initial(self, connection_id: str, now: datetime) -> list[ModelToSync]: ...
    async def claim_due(
        self, limit: int, jitter_fraction: float, max_jitter: float, now: datetime
    ) -> list[DueSchedule]: ...
    async def schedules(self, connection_id: str) -> list[Schedule]: ...


class PgRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def connection_for_update(self, connection_id: str) -> KnownConnection | None:
        row = await self._conn.fetchrow(q.CONNECTION_FOR_UPDATE, connection_id)
        return KnownConnection(**row) if row is not None else None

    async def save_connection(self, c: KnownConnection) -> None:
        await self._conn.execute(
            q.UPSERT_CONNECTION, c.connection_id, c.project_id, c.provider_name, c.status,
            c.full_sync_interval_hours, c.version,
        )

    async def delete_connection(self, connection_id: str) -> None:
        await self._conn.execute(q.DELETE_CONNECTION, connection_id)

    async def keep_only_models(self, connection_id: str, keep: list[str]) -> None:
        await self._conn.execute(q.DELETE_OTHER_MODELS, connection_id, keep)

    async def save_schedule(self, connection_id: str, spec: ScheduleSpec, now: datetime) -> None:
        await self._conn.execute(
            q.UPSERT_SCHEDULE, connection_id, spec.data_model, spec.frequency,
            spec.interval_minutes, spec.sync_from, spec.jitter_seconds, spec.full_sync_hours,
            spec.paused, now,
        )

    async def take_initial(self, connection_id: str, now: datetime) -> list[ModelToSync]:
        rows = await self._conn.fetch(q.TAKE_INITIAL, connection_id, now)
        return [ModelToSync(**r) for r in rows]

    async def claim_due(
        self, limit: int, jitter_fraction: float, max_jitter: float, now: datetime
    ) -> list[DueSchedule]:
        rows = await self._conn.fetch(q.CLAIM_DUE, limit, jitter_fraction, max_jitter, now)
        return [DueSchedule(**r) for r in rows]

    async def schedules(self, connection_id: str) -> list[Schedule]:
        return [Schedule(**r) for r in await self._conn.fetch(q.SCHEDULES, connection_id)]
