"""The executor's repository: named queries in, `domain` records out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

import asyncpg
from ferry_kit.db import delete_in_batches

from . import queries as q
from .domain import Job, KnownConnection, ModelSummary, NewJob, Outcome


def _job(row: asyncpg.Record | None) -> Job | None:
    return Job(**row) if row is not None else None


def _jobs(rows: list[asyncpg.Record]) -> list[Job]:
    return [Job(**r) for r in rows]


class Repository(Protocol):
    """What handlers, views and the runner may ask of the executor's storage."""

    async def waiting_job(self, connection_id: str, data_model: str) -> Job | None: ...
    async def insert_job(self, job: NewJob) -> Job | None: ...
    async def widen_waiting_job(
        self, job_id: str, *, full_sync: bool, sync_from: date | None, is_initial_sync: bool,
        record_events: bool | None = None,
    ) -> Job: ...
    async def job(self, job_id: str, *, lock: bool = False) -> Job | None: ...
    async def jobs(
        self, connection_id: str, *, status: str | None, data_model: str | None, limit: int,
        before_id: str | None,
    ) -> list[Job]: ...
    async def claim_next(self, owner: str, lease_seconds: float) -> Job | None: ...
    async def seconds_until_next_due(self) -> float | None: ...
    async def renew_lease(self, job_id: str, owner: str, lease_seconds: float) -> bool | None: ...
    async def expired_leases(self) -> list[Job]: ...
    async def fail_stale_finishing(self, seconds: float, error: str) -> list[Job]: ...
    async def checkpoint(
        self, job_id: str, owner: str, state: dict[str, Any], lease_seconds: float
    ) -> bool: ...
    async def checkpoint_job(
        self, job_id: str, owner: str, state: dict[str, Any], lease_seconds: float
    ) -> Job | None: ...
    async def set_window(self, job_id: str, start: datetime | None, end: datetime) -> None: ...
    async def transition(
        self, job_id: str, *, status: str, phase: str, owner: str | None = None,
        error: str | None = None, run_after: datetime | None = None, completed: bool = False,
        counts: dict[str, Any] | None = None,
    ) -> Job | None: ...
    async def set_counts(self, job_id: str, counts: dict[str, Any]) -> None: ...
    async def request_cancel(self, job_id: str) -> Job: ...
    async def high_water_mark(self, connection_id: str, data_model: str) -> datetime | None: ...
    async def record_outcome(self, connection_id: str, data_model: str, o: Outcome) -> None: ...
    async def summary(self, connection_id: str) -> list[ModelSummary]: ...
    async def active_jobs_of(self, connection_id: str) -> list[Job]: ...
    async def purge_connection(self, connection_id: str) -> None: ...
    async def blocked_until(self, connection_id: str) -> datetime | None: ...
    async def block(self, connection_id: str, seconds: float) -> None: ...
    async def connection(
        self, connection_id: str, *, lock: bool = False
    ) -> KnownConnection | None: ...
    async def save_connection(self, c: KnownConnection) -> None: ...


class PgRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def waiting_job(self, connection_id: str, data_model: str) -> Job | None:
        return _job(await self._conn.fetchrow(q.WAITING_JOB, connection_id, data_model))

    async def insert_job(self, job: NewJob) -> Job | None:
        """Insert a queued job unless one already waits for that (connection, model)."""
        return _job(await self._conn.fetchrow(
            q.INSERT_JOB, job.id, job.project_id, job.connection_id, job.provider_name,
            job.data_model, job.batch_id, job.trigger, job.is_initial_sync, job.record_events,
            job.is_one_off, job.full_sync, job.sync_from,
        ))

    async def widen_waiting_job(
        self, job_id: str, *, full_sync: bool, sync_from: date | None, is_initial_sync: bool,
        record_events: bool | None = None,
    ) -> Job:
        """A coalesced request can only widen what the waiting job will fetch, never narrow it.

        A job parked mid-run keeps its window and checkpoint in `pagination_state`. When the
        request widens it (a full sync, an earlier `sync_from`), that window no longer covers
        what is asked: the job starts over with a fresh window (its retry count stays). Kept, an
        incremental window under a full sync would call every record unchanged since the
        high-water mark deleted.
        """
        row = await self._conn.fetchrow(
            q.WIDEN_WAITING_JOB, job_id, full_sync, sync_from, is_initial_sync, record_events)
        return Job(**row)

    async def job(self, job_id: str, *, lock: bool = False) -> Job | None:
        return _job(await self._conn.fetchrow(q.GET_JOB_FOR_UPDATE if lock else q.GET_JOB, job_id))

    async def jobs(
        self, connection_id: str, *, status: str | None, data_model: str | None, limit: int,
        before_id: str | None,
    ) -> list[Job]:
        return _jobs(await self._conn.fetch(
            q.LIST_JOBS, connection_id, status, data_model, before_id, limit))

    async def claim_next(self, owner: str, lease_seconds: float) -> Job | None:
        """Take over a run whose worker died, else the oldest due job whose (connection, model)
        has no run in progress.

        Runs with a job waiting behind them come back by the take-over: `expired_leases` cannot
        queue them again, as their (connection, model) already has its one waiting job."""
        row = await self._conn.fetchrow(q.TAKE_OVER, owner, lease_seconds)
        if row is None:
            row = await self._conn.fetchrow(q.CLAIM_NEXT, owner, lease_seconds)
        return _job(row)

    async def seconds_until_next_due(self) -> float | None:
        """Seconds until the next waiting job that no run blocks is due (≤ 0: now); None: none."""
        due: float | None = await self._conn.fetchval(q.SECONDS_UNTIL_NEXT_DUE)
        return due

    async def renew_lease(self, job_id: str, owner: str, lease_seconds: float) -> bool | None:
        """Extend a run's lease; None when the worker no longer holds the job, else whether a
        cancel was requested."""
        cancel: bool | None = await self._conn.fetchval(
            q.RENEW_LEASE, job_id, owner, lease_seconds)
        return cancel

    async def expired_leases(self) -> list[Job]:
        """Runs whose lease expired, queued again (those with a job waiting behind them are left
        to the take-over: queueing them would break the one waiting job of their model)."""
        return _jobs(await self._conn.fetch(q.EXPIRED_LEASES))

    async def fail_stale_finishing(self, seconds: float, error: str) -> list[Job]:
        """Fail runs whose end marker went out `seconds` ago with no `sync.completed` since."""
        return _jobs(await self._conn.fetch(q.FAIL_STALE_FINISHING, seconds, error))

    async def checkpoint(
        self, job_id: str, owner: str, state: dict[str, Any], lease_seconds: float
    ) -> bool:
        """Save a page's checkpoint if this worker still holds the job (False: it does not)."""
        fetched = int(state.get("fetched", 0))
        held = await self._conn.fetchval(q.CHECKPOINT, job_id, owner, state, fetched, lease_seconds)
        return bool(held)

    async def checkpoint_job(
        self, job_id: str, owner: str, state: dict[str, Any], lease_seconds: float
    ) -> Job | None:
        """`checkpoint`, answering the job as it now is (None: this worker does not hold it)."""
        fetched = int(state.get("fetched", 0))
        return _job(await self._conn.fetchrow(
            q.CHECKPOINT_JOB, job_id, owner, state, fetched, lease_seconds))

    async def set_window(self, job_id: str, start: datetime | None, end: datetime) -> None:
        await self._conn.execute(q.SET_WINDOW, job_id, start, end)

    async def transition(
        self, job_id: str, *, status: str, phase: str, owner: str | None = None,
        error: str | None = None, run_after: datetime | None = None, completed: bool = False,
        counts: dict[str, Any] | None = None,
    ) -> Job | None:
        """Move a job to `status`; with `owner`, only if that worker still holds it."""
        return _job(await self._conn.fetchrow(
            q.TRANSITION, job_id, status, phase, owner, error, run_after, completed, counts))

    async def set_counts(self, job_id: str, counts: dict[str, Any]) -> None:
        await self._conn.execute(q.SET_COUNTS, job_id, counts)

    async def request_cancel(self, job_id: str) -> Job:
        return Job(**await self._conn.fetchrow(q.REQUEST_CANCEL, job_id))

    async def high_water_mark(self, connection_id: str, data_model: str) -> datetime | None:
        mark: datetime | None = await self._conn.fetchval(
            q.HIGH_WATER_MARK, connection_id, data_model)
        return mark

    async def record_outcome(self, connection_id: str, data_model: str, o: Outcome) -> None:
        await self._conn.execute(q.RECORD_OUTCOME, connection_id, data_model, o.high_water_mark,
                                 o.last_synced_at, o.status, o.error)

    async def summary(self, connection_id: str) -> list[ModelSummary]:
        return [ModelSummary(**r) for r in await self._conn.fetch(q.SUMMARY, connection_id)]

    async def active_jobs_of(self, connection_id: str) -> list[Job]:
        return _jobs(await self._conn.fetch(q.ACTIVE_JOBS_OF, connection_id))

    async def purge_connection(self, connection_id: str) -> None:
        for query in (q.DELETE_JOBS_OF, q.DELETE_MODEL_STATE_OF, q.DELETE_RATE_LIMIT_OF,
                      q.DELETE_CONNECTION):
            await self._conn.execute(query, connection_id)

    async def blocked_until(self, connection_id: str) -> datetime | None:
        until: datetime | None = await self._conn.fetchval(q.BLOCKED_UNTIL, connection_id)
        return until

    async def block(self, connection_id: str, seconds: float) -> None:
        await self._conn.execute(q.BLOCK, connection_id, seconds)

    async def connection(
        self, connection_id: str, *, lock: bool = False
    ) -> KnownConnection | None:
        row = await self._conn.fetchrow(
            q.CONNECTION_FOR_UPDATE if lock else q.CONNECTION, connection_id)
        if row is None:
            return None
        return KnownConnection(**{**row, "readable": tuple(row["readable"])})

    async def save_connection(self, c: KnownConnection) -> None:
        await self._conn.execute(q.UPSERT_CONNECTION, c.connection_id, c.project_id,
                                 c.provider_name, c.status, list(c.readable), c.version)


async def prune_finished(conn: asyncpg.Connection, older_than_days: float) -> int:
    """Finished jobs past the history's retention (a housekeeping chore of the kit)."""
    removed: int = await delete_in_batches(conn, q.PRUNE_FINISHED, older_than_days)
    return removed
