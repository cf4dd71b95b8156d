"""Use cases of the executor: requesting, coalescing, cancelling and finishing sync jobs.

Every state change and the `sync.job.changed` it emits commit together (outbox).
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg
from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.sync import (
    SyncCompleted,
    SyncCounts,
    SyncJob,
    SyncJobChanged,
    SyncRequested,
    initial_job_id,
)
from ferry_contracts.topics import CONNECTION_CHANGED, SYNC_COMPLETED, SYNC_REQUESTED
from ferry_kit import inbox, outbox
from ferry_kit import logging as klog

from . import domain
from . import repository as repo

log = klog.get("ferry.executor")


def to_job(row: asyncpg.Record) -> SyncJob:
    counts = dict(row["counts"] or {})
    state = dict(row["pagination_state"] or {})
    return SyncJob(
        id=row["id"],
        connection_id=row["connection_id"],
        data_model=row["data_model"],
        model_id=f"{row['provider_name']}.{row['data_model']}",
        status=row["status"],
        attempt=row["attempt"],
        batch_id=row["batch_id"],
        created_at=row["created_at"],
        modified_at=row["modified_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        error=row["error"],
        is_initial_sync=row["is_initial_sync"],
        is_one_off=row["is_one_off"],
        full_sync=row["full_sync"],
        pagination_state={k: v for k, v in state.items() if k in ("cursor", "pages", "fetched", "resume_at")},
        timerange_start=row["timerange_start"],
        timerange_end=row["timerange_end"],
        counts=SyncCounts(**{k: int(v) for k, v in counts.items() if k in SyncCounts.model_fields}),
    )


def job_json(row: asyncpg.Record) -> dict[str, Any]:
    return to_job(row).model_dump(mode="json")


def log_end(row: asyncpg.Record) -> None:
    """The one line per ended job: its outcome, counts and duration."""
    started, ended = row["started_at"], row["completed_at"]
    duration = round((ended - started).total_seconds(), 3) if started and ended else None
    counts = dict(row["counts"] or {})
    log.info("job ended", job_id=row["id"], connection_id=row["connection_id"],
             data_model=row["data_model"], status=row["status"], duration_s=duration,
             error=row["error"], **{k: counts.get(k, 0) for k in (
                 "fetched", "created", "updated", "deleted", "unchanged")})


def changed(row: asyncpg.Record, previous: str | None) -> Envelope[Any]:
    return Envelope.of(
        SyncJobChanged(job=to_job(row), previous_status=previous),  # type: ignore[arg-type]
        project_id=row["project_id"],
        connection_id=row["connection_id"],
    )


class Jobs:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.wake = asyncio.Event()  # set when a job becomes runnable in this process

    async def request(
        self, *, connection_id: str, project_id: str | None, provider_name: str,
        models: list[tuple[str, date | None]], full_sync: bool, trigger: str,
        is_initial_sync: bool = False, is_one_off: bool = False, batch_id: str | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> list[asyncpg.Record]:
        """One job per model sharing a batch id; a model that already has a job waiting gets that
        job (widened to cover this request), so a (connection, model) never runs twice at once."""
        if conn is None:
            async with self.pool.acquire() as c, c.transaction():
                rows = await self.request(
                    connection_id=connection_id, project_id=project_id, provider_name=provider_name,
                    models=models, full_sync=full_sync, trigger=trigger, is_initial_sync=is_initial_sync,
                    is_one_off=is_one_off, batch_id=batch_id, conn=c,
                )
            self.wake.set()  # committed now: a worker woken before the commit found nothing
            return rows
        batch_id = batch_id or domain.new_batch_id()
        out, events = [], []
        for data_model, sync_from in models:
            model = data_model.upper()
            row = None
            for _ in range(3):
                existing = await repo.waiting_job(conn, connection_id, model)
                if existing is not None:
                    row = await repo.widen_waiting_job(
                        conn, existing["id"], full_sync=full_sync, sync_from=sync_from, is_initial_sync=is_initial_sync
                    )
                    break
                row = await repo.insert_job(conn, {
                    "id": initial_job_id(batch_id, model) if is_initial_sync else domain.new_job_id(),
                    "project_id": project_id, "connection_id": connection_id,
                    "provider_name": provider_name, "data_model": model, "batch_id": batch_id,
                    "trigger": trigger, "is_initial_sync": is_initial_sync, "is_one_off": is_one_off,
                    "full_sync": full_sync, "sync_from": sync_from,
                })
                if row is not None:
                    events.append(changed(row, None))
                    break
            if row is None:
                raise RuntimeError(f"could not queue a job for {connection_id}/{model}")
            out.append(row)
        await outbox.add(conn, events)
        self.wake.set()
        return out

    async def cancel(self, job_id: str) -> asyncpg.Record | None:
        """Waiting jobs end at once; a running one stops at its next page boundary."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repo.get_job(conn, job_id, lock=True)
            if row is None or row["status"] in domain.TERMINAL:
                return row
            if row["status"] == "running":
                await repo.request_cancel(conn, job_id)
                return await repo.get_job(conn, job_id)
            done = await repo.transition(conn, job_id, status="cancelled", phase="done", completed=True,
                                         error="cancelled by request")
            await outbox.add(conn, [changed(done, row["status"])])
            return done

    # --- events -------------------------------------------------------------------------------

    async def on_sync_requested(self, events: list[Envelope[Any]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            for event in await inbox.claim(conn, SYNC_REQUESTED, events):
                req: SyncRequested = event.data
                groups: dict[bool, list[tuple[str, date | None]]] = {}
                for m in req.models:
                    groups.setdefault(m.full_sync, []).append((m.data_model, m.sync_from))
                for full, models in groups.items():
                    await self.request(
                        connection_id=req.connection_id, project_id=event.project_id,
                        provider_name=req.provider_name, models=models, full_sync=full,
                        trigger=req.trigger, is_initial_sync=req.is_initial_sync,
                        is_one_off=req.is_one_off, batch_id=req.batch_id, conn=conn,
                    )
        self.wake.set()  # committed now: a worker woken before the commit found nothing

    async def on_sync_completed(self, events: list[Envelope[Any]]) -> None:
        """The records service has stored and compared everything a job fetched: the job ends."""
        ended: list[asyncpg.Record] = []
        async with self.pool.acquire() as conn, conn.transaction():
            out = []
            for event in await inbox.claim(conn, SYNC_COMPLETED, events):
                done: SyncCompleted = event.data
                row = await repo.get_job(conn, done.job_id, lock=True)
                if row is None:
                    continue
                await repo.record_outcome(
                    conn, row["connection_id"], row["data_model"], status=done.status, error=done.error,
                    high_water_mark=done.high_water_mark if done.status == "complete" else None,
                    last_synced_at=done.last_synced_at if done.status == "complete" else None,
                )
                counts = done.counts.model_dump()
                if row["status"] in domain.TERMINAL:
                    await conn.execute("UPDATE jobs SET counts=$2 WHERE id=$1", row["id"], counts)
                    continue
                final = await repo.transition(
                    conn, row["id"], status=done.status, phase="done", completed=True,
                    error=done.error if done.status != "complete" else None, counts=counts,
                )
                out.append(changed(final, row["status"]))
                ended.append(final)
            await outbox.add(conn, out)
        for final in ended:  # once committed
            log_end(final)
        self.wake.set()

    async def expire_finishing(self, timeout_seconds: float) -> list[str]:
        """Fail jobs whose end marker or `sync.completed` was lost (a dead-letter topic): their
        model would never sync again. The high-water mark stays; a late answer still counts."""
        error = (f"no sync.completed within {timeout_seconds:.0f}s of the end of fetching "
                 "(finishing timed out; see the records.fetched and sync.completed "
                 "dead-letter topics)")
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await repo.fail_stale_finishing(conn, timeout_seconds, error)
            for row in rows:
                await repo.record_outcome(
                    conn, row["connection_id"], row["data_model"], status="failed",
                    error=error, high_water_mark=None, last_synced_at=None,
                )
            await outbox.add(conn, [changed(r, "running") for r in rows])
        if rows:
            log.error("jobs stuck finishing failed", jobs=[r["id"] for r in rows])
            self.wake.set()
        return [r["id"] for r in rows]

    async def on_connection_changed(self, events: list[Envelope[Any]]) -> None:
        """A connection that is deleted or loses its authorization stops syncing."""
        async with self.pool.acquire() as conn, conn.transaction():
            out = []
            for event in await inbox.claim(conn, CONNECTION_CHANGED, events):
                change: ConnectionChanged = event.data
                if change.status == "CONNECTED":
                    continue
                if change.status == "DELETED":
                    await repo.purge_connection(conn, change.connection_id)
                    continue
                for row in await repo.active_jobs_of(conn, change.connection_id):
                    if row["status"] == "running":
                        await repo.request_cancel(conn, row["id"])
                        continue
                    done = await repo.transition(
                        conn, row["id"], status="cancelled", phase="done", completed=True,
                        error=f"cancelled: the connection is {change.status}",
                    )
                    out.append(changed(done, row["status"]))
            await outbox.add(conn, out)
