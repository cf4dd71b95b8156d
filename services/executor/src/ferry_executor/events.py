"""What the executor says about its jobs: `sync.job.changed` events and the line per ended job."""

from __future__ import annotations

from typing import Any

from ferry_contracts.sync import SyncJobChanged
from ferry_kit import logging as klog
from ferry_kit.uow import UnitOfWork

from .domain import Job, to_sync_job

log = klog.get("ferry.executor")


def emit_changed(uow: UnitOfWork[Any], job: Job, previous: str | None) -> None:
    """`sync.job.changed` for a job that just moved from `previous`, keyed by its connection."""
    changed = SyncJobChanged(job=to_sync_job(job), previous_status=previous,  # type: ignore[arg-type]
                             version=job.version)
    uow.emit(changed, project_id=job.project_id, connection_id=job.connection_id)


def log_end(job: Job) -> None:
    """The one line per ended job: its outcome, counts and duration."""
    started, ended = job.started_at, job.completed_at
    duration = round((ended - started).total_seconds(), 3) if started and ended else None
    counts = dict(job.counts or {})
    log.info("job ended", job_id=job.id, connection_id=job.connection_id,
             data_model=job.data_model, status=job.status, duration_s=duration,
             error=job.error, **{k: counts.get(k, 0) for k in (
                 "fetched", "created", "updated", "deleted", "unchanged")})
