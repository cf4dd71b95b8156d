"""What the executor does, one typed function per event or command; events listed in `HANDLERS`.

Each runs inside a unit of work the kit opened (inbox claimed, outbox written on commit). The
runner's own steps (claiming, checkpoints, ends) are in `job_run.py` and `runner.py`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Final, Protocol

from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.sync import SyncCompleted, SyncRequested, initial_job_id
from ferry_contracts.topics import CONNECTION_CHANGED, SYNC_COMPLETED, SYNC_REQUESTED
from ferry_kit import errors
from ferry_kit.dispatch import EventHandler
from ferry_kit.uow import UnitOfWork

from . import domain
from .domain import Job, JobRequest, KnownConnection, ManualSync, NewJob, Outcome
from .events import emit_changed, log, log_end
from .repository import Repository
from .settings import Settings

Uow = UnitOfWork[Repository]


class ConnectionSource(Protocol):
    """The connections service, asked when this executor has not seen a connection's newest
    state yet (a connection just created, connected or re-configured)."""

    async def connection(self, project_id: str, connection_id: str) -> KnownConnection | None: ...


async def queue_jobs(uow: Uow, req: JobRequest) -> list[Job]:
    """One job per model sharing a batch id; a model that already has a job waiting gets that
    job (widened to cover this request), so a (connection, model) never runs twice at once."""
    batch_id = req.batch_id or domain.new_batch_id()
    out = []
    for data_model, sync_from in req.models:
        model = data_model.upper()
        job = None
        for _ in range(3):  # an insert lost to a concurrent one finds that one waiting next
            waiting = await uow.repos.waiting_job(req.connection_id, model)
            if waiting is not None:
                job = await uow.repos.widen_waiting_job(
                    waiting.id, full_sync=req.full_sync, sync_from=sync_from,
                    is_initial_sync=req.is_initial_sync, record_events=req.record_events)
                break
            job = await uow.repos.insert_job(_new_job(req, batch_id, model, sync_from))
            if job is not None:
                emit_changed(uow, job, None)
                break
        if job is None:
            raise RuntimeError(f"could not queue a job for {req.connection_id}/{model}")
        out.append(job)
    return out


def _new_job(req: JobRequest, batch_id: str, model: str, sync_from: date | None) -> NewJob:
    job_id = initial_job_id(batch_id, model) if req.is_initial_sync else domain.new_job_id()
    return NewJob(
        id=job_id, project_id=req.project_id, connection_id=req.connection_id,
        provider_name=req.provider_name, data_model=model, batch_id=batch_id,
        trigger=req.trigger, is_initial_sync=req.is_initial_sync, is_one_off=req.is_one_off,
        full_sync=req.full_sync, sync_from=sync_from, record_events=req.record_events,
    )


async def on_sync_requested(event: Envelope[SyncRequested], uow: Uow) -> None:
    """Queue the jobs of a request: one batch, models grouped by full or incremental."""
    req = event.data
    groups: dict[bool, list[tuple[str, date | None]]] = defaultdict(list)
    for m in req.models:
        groups[m.full_sync].append((m.data_model, m.sync_from))
    for full, models in groups.items():
        await queue_jobs(uow, JobRequest(
            connection_id=req.connection_id, project_id=event.project_id,
            provider_name=req.provider_name, models=models, full_sync=full, trigger=req.trigger,
            is_initial_sync=req.is_initial_sync, is_one_off=req.is_one_off,
            batch_id=req.batch_id, record_events=req.record_events,
        ))


async def on_sync_completed(event: Envelope[SyncCompleted], uow: Uow) -> None:
    """The records service has stored and compared everything a job fetched: the job ends."""
    done = event.data
    job = await uow.repos.job(done.job_id, lock=True)
    if job is None:
        return
    complete = done.status == "complete"
    await uow.repos.record_outcome(job.connection_id, job.data_model, Outcome(
        status=done.status, error=done.error,
        high_water_mark=done.high_water_mark if complete else None,
        last_synced_at=done.last_synced_at if complete else None,
    ))
    counts = done.counts.model_dump()
    if job.status in domain.TERMINAL:
        await uow.repos.set_counts(job.id, counts)
        return
    final = await uow.repos.transition(
        job.id, status=done.status, phase="done", completed=True,
        error=None if complete else done.error, counts=counts,
    )
    assert final is not None  # locked above
    emit_changed(uow, final, job.status)
    log_end(final)


async def on_connection_changed(event: Envelope[ConnectionChanged], uow: Uow) -> None:
    """Keep what the executor knows of the connection; one that is deleted or loses its
    authorization stops syncing."""
    change = event.data
    if change.status == "DELETED":
        await uow.repos.purge_connection(change.connection_id)
        return
    known = await uow.repos.connection(change.connection_id, lock=True)
    if domain.is_stale(known, change.version):
        return
    await uow.repos.save_connection(KnownConnection(
        connection_id=change.connection_id, project_id=event.project_id,
        provider_name=change.provider_name, status=change.status,
        readable=domain.readable((m.data_model, m.access) for m in change.sync_config),
        version=change.version,
    ))
    if not domain.stops_syncing(change.status):
        # A new connection's AUTH_REQUIRED or CONNECTING can arrive after the sync its
        # CONNECTED started (another topic): it never had jobs to stop.
        return
    for job in await uow.repos.active_jobs_of(change.connection_id):
        if job.status == "running":
            await uow.repos.request_cancel(job.id)
            continue
        cancelled = await uow.repos.transition(
            job.id, status="cancelled", phase="done", completed=True,
            error=f"cancelled: the connection is {change.status}",
        )
        assert cancelled is not None  # locked above
        emit_changed(uow, cancelled, job.status)


HANDLERS: Final[dict[str, EventHandler]] = {
    SYNC_REQUESTED: on_sync_requested,
    SYNC_COMPLETED: on_sync_completed,
    CONNECTION_CHANGED: on_connection_changed,
}


async def request_sync(cmd: ManualSync, uow: Uow, connections: ConnectionSource) -> list[Job]:
    """A manual sync: refused unless the connection is CONNECTED and the models are enabled for
    reading (the public API's 409 and 422s), else queued as one batch of one-off jobs."""
    requested = None if cmd.models is None else [name for name, _ in cmd.models]
    known = await uow.repos.connection(cmd.connection_id)
    if known is None or domain.refusal(known, requested) is not None:
        # This executor may not have seen the newest connection.changed yet: the connections
        # service decides a refusal (and a connection this executor never heard of).
        known = await connections.connection(cmd.project_id, cmd.connection_id)
        if known is None:
            raise errors.NotFound(f"no connection {cmd.connection_id}")
        refused = domain.refusal(known, requested)
        if refused is not None:
            raise refused
    models = cmd.models if cmd.models is not None else [(m, None) for m in known.readable]
    return await queue_jobs(uow, JobRequest(
        connection_id=cmd.connection_id, project_id=cmd.project_id,
        provider_name=known.provider_name, models=models, full_sync=cmd.full_sync,
        trigger="manual", is_one_off=True,
    ))


async def cancel_job(job_id: str, uow: Uow) -> Job:
    """Waiting jobs end at once; a running one stops at its next page boundary."""
    job = await uow.repos.job(job_id, lock=True)
    if job is None:
        raise errors.NotFound(f"no sync job {job_id}")
    if job.status in domain.TERMINAL:
        raise errors.Conflict(f"the job is already {job.status}", "invalid_transition",
                              [{"field": "status", "message": job.status}])
    if job.status == "running":
        return await uow.repos.request_cancel(job_id)
    done = await uow.repos.transition(job_id, status="cancelled", phase="done", completed=True,
                                      error="cancelled by request")
    assert done is not None  # locked above
    emit_changed(uow, done, job.status)
    return done


async def expire_finishing(uow: Uow, settings: Settings) -> int:
    """Fail jobs whose end marker or `sync.completed` was lost (a dead-letter topic): their
    model would never sync again. The high-water mark stays; a late answer still counts."""
    timeout = settings.executor_finishing_timeout_seconds
    error = (f"no sync.completed within {timeout:.0f}s of the end of fetching "
             "(finishing timed out; see the records.fetched and sync.completed "
             "dead-letter topics)")
    jobs = await uow.repos.fail_stale_finishing(timeout, error)
    for job in jobs:
        await uow.repos.record_outcome(job.connection_id, job.data_model,
                                       Outcome(status="failed", error=error))
        emit_changed(uow, job, "running")
    if jobs:
        log.error("jobs stuck finishing failed", jobs=[j.id for j in jobs])
    return len(jobs)


async def requeue_expired(uow: Uow) -> int:
    """Runs whose worker died (its lease expired) wait again, to resume from their checkpoint."""
    jobs = await uow.repos.expired_leases()
    for job in jobs:
        emit_changed(uow, job, "running")
    if jobs:
        log.warning("resuming jobs of dead workers", jobs=[j.id for j in jobs])
    return len(jobs)
