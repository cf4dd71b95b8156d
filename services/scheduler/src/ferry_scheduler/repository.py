"""The scheduler's repository: named queries in, domain records out."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import asyncpg
from ferry_contracts.values import ACTIVE_JOB_STATUSES
from ferry_kit.db import delete_in_batches

from . import queries as q
from .domain import (
    DueSchedule,
    JobState,
    KnownConnection,
    ModelFacts,
    ModelToSync,
    Outcome,
    Schedule,
    ScheduleSpec,
)

_ACTIVE = list(ACTIVE_JOB_STATUSES)


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
    async def connection(self, connection_id: str) -> KnownConnection | None: ...
    async def save_job(self, job: JobState) -> None: ...
    async def save_outcome(self, outcome: Outcome) -> None: ...
    async def model_facts(self, connection_id: str) -> list[ModelFacts]: ...


class PgRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def connection_for_update(self, connection_id: str) -> KnownConnection | None:
        return _known(await self._conn.fetchrow(q.CONNECTION_FOR_UPDATE, connection_id))

    async def connection(self, connection_id: str) -> KnownConnection | None:
        return _known(await self._conn.fetchrow(q.CONNECTION, connection_id))

    async def save_connection(self, c: KnownConnection) -> None:
        await self._conn.execute(
            q.UPSERT_CONNECTION, c.connection_id, c.project_id, c.provider_name, c.status,
            c.full_sync_interval_hours, c.version, list(c.data_models),
        )

    async def delete_connection(self, connection_id: str) -> None:
        for sql in (q.DELETE_CONNECTION, q.DELETE_JOB_STATES, q.DELETE_OUTCOMES):
            await self._conn.execute(sql, connection_id)

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

    async def save_job(self, job: JobState) -> None:
        await self._conn.execute(q.UPSERT_JOB_STATE, job.job_id, job.connection_id,
                                 job.data_model, job.status, job.changed_at, _ACTIVE)

    async def save_outcome(self, o: Outcome) -> None:
        await self._conn.execute(q.UPSERT_OUTCOME, o.connection_id, o.data_model, o.job_id,
                                 o.rank, o.status, o.error, o.last_synced_at, o.held_deletions)

    async def model_facts(self, connection_id: str) -> list[ModelFacts]:
        rows = await self._conn.fetch(q.MODEL_FACTS, connection_id, _ACTIVE)
        return [ModelFacts(**r) for r in rows]


async def prune_finished_jobs(conn: asyncpg.Connection, before: datetime) -> int:
    """Forget finished jobs older than `before` (a housekeeping chore); returns how many."""
    return await delete_in_batches(conn, q.PRUNE_FINISHED_JOBS, before, _ACTIVE)


def _known(row: asyncpg.Record | None) -> KnownConnection | None:
    if row is None:
        return None
    return KnownConnection(**{**row, "data_models": tuple(row["data_models"])})
