"""Pure rules of sync jobs and the executor's own records: ids, statuses, backoff, windows, and
which manual syncs a connection allows (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final
from uuid import UUID, uuid5

from ferry_contracts.envelope import utcnow, uuid7
from ferry_contracts.sync import SyncCounts, SyncJob
from ferry_contracts.values import ACTIVE_JOB_STATUSES, READABLE, JobStatus
from ferry_kit import errors
from ferry_kit.clock import parse_instant

__all__ = ["utcnow"]

ACTIVE: Final = ACTIVE_JOB_STATUSES
WAITING: Final[tuple[JobStatus, ...]] = ("scheduled", "queued", "pending_retry")
TERMINAL: Final[tuple[JobStatus, ...]] = ("complete", "failed", "cancelled")
# The checkpoint keys a job shows in its public `pagination_state`.
SHOWN_STATE: Final = ("cursor", "pages", "fetched", "resume_at")
# Namespace of the ids of page events (uuid5 of "<job id>/<page number>").
PAGE_EVENTS: Final = UUID("5b0f3c1e-8d2a-4f57-9e61-3a7c2d9b4e10")


@dataclass(frozen=True)
class Job:
    """A sync job: one per (request, data model), with the checkpoint a resumed run starts from."""

    id: str
    project_id: str | None
    connection_id: str
    provider_name: str
    data_model: str
    status: JobStatus
    phase: str
    attempt: int
    batch_id: str | None
    trigger: str
    is_initial_sync: bool
    # An initial sync's opt-in to per-record events, put on each of its pages; None: not said.
    record_events: bool | None
    is_one_off: bool
    full_sync: bool
    sync_from: date | None
    pagination_state: dict[str, Any]
    timerange_start: datetime | None
    timerange_end: datetime | None
    counts: dict[str, Any]
    error: str | None
    run_after: datetime
    lease_owner: str | None
    lease_until: datetime | None
    cancel_requested: bool
    created_at: datetime
    modified_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    # One more on every change of the row (a trigger sets it): the newest copy has the highest.
    version: int = 0


@dataclass(frozen=True)
class NewJob:
    """A job to queue, unless its (connection, model) already has one waiting."""

    id: str
    project_id: str | None
    connection_id: str
    provider_name: str
    data_model: str
    batch_id: str
    trigger: str
    is_initial_sync: bool
    is_one_off: bool
    full_sync: bool
    sync_from: date | None
    record_events: bool | None = None


@dataclass(frozen=True)
class JobRequest:
    """Jobs asked for together (one sync request, one kind): they share a batch id."""

    connection_id: str
    project_id: str | None
    provider_name: str
    models: Sequence[tuple[str, date | None]]
    full_sync: bool
    trigger: str
    is_initial_sync: bool = False
    is_one_off: bool = False
    batch_id: str | None = None
    record_events: bool | None = None


@dataclass(frozen=True)
class Outcome:
    """How a job ended, as `sync.completed` (or the finishing timeout) tells it."""

    status: str
    error: str | None = None
    high_water_mark: datetime | None = None
    last_synced_at: datetime | None = None


@dataclass(frozen=True)
class ModelSummary:
    data_model: str
    status: str | None
    last_status: str | None
    last_error: str | None
    last_synced_at: datetime | None


@dataclass(frozen=True)
class KnownConnection:
    """A connection as its newest `connection.changed` told it (or the connections service)."""

    connection_id: str
    status: str
    provider_name: str
    project_id: str | None
    # The models of its resolved sync config that sync (READ or READ_WRITE), in config order.
    readable: tuple[str, ...] = field(default=())
    version: int = 0


@dataclass(frozen=True)
class ManualSync:
    """A sync asked for through the API: these models (None: every enabled one), now."""

    connection_id: str
    project_id: str
    full_sync: bool
    models: Sequence[tuple[str, date | None]] | None


def readable(models: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The names of a resolved sync config's models that sync, from (name, access) pairs."""
    return tuple(dict.fromkeys(name.upper() for name, access in models if access in READABLE))


def new_job_id() -> str:
    return "job_" + uuid7().hex


def new_batch_id() -> str:
    return str(uuid7())


def page_event_id(job_id: str, page: int) -> UUID:
    """The id of a job's n-th page event: the same on every run of that page, so a page published
    again after a crash (before its checkpoint committed) is deduplicated by the records inbox."""
    return uuid5(PAGE_EVENTS, f"{job_id}/{page}")


def retry_delay(attempt: int, base: float) -> float:
    """Exponential backoff for a job retried after provider failures: base·4^(attempt-1), ≤ 1 h."""
    return float(min(3600.0, base * (4 ** max(0, attempt - 1))))


parse_time = parse_instant  # a time the executor stored or was sent as ISO text


def cutoff(sync_from: date | None) -> datetime | None:
    return datetime.combine(sync_from, datetime.min.time(), UTC) if sync_from else None


def window_start(
    *, full_sync: bool, sync_from: date | None, high_water_mark: datetime | None
) -> datetime | None:
    """Where a run starts asking the provider: never before `sync_from`; incremental runs after
    the high-water mark of the last complete sync; full syncs from `sync_from` (or the start)."""
    floor = cutoff(sync_from)
    if full_sync or high_water_mark is None:
        return floor
    if floor is None:
        return high_water_mark
    return max(floor, high_water_mark)


def to_sync_job(job: Job) -> SyncJob:
    """A job as the public API and `sync.job.changed` show it."""
    counts = {k: int(v) for k, v in (job.counts or {}).items() if k in SyncCounts.model_fields}
    state = job.pagination_state or {}
    return SyncJob(
        id=job.id, connection_id=job.connection_id, data_model=job.data_model,
        model_id=f"{job.provider_name}.{job.data_model}", status=job.status, attempt=job.attempt,
        batch_id=job.batch_id, created_at=job.created_at, modified_at=job.modified_at,
        started_at=job.started_at, completed_at=job.completed_at, error=job.error,
        is_initial_sync=job.is_initial_sync, is_one_off=job.is_one_off, full_sync=job.full_sync,
        pagination_state={k: v for k, v in state.items() if k in SHOWN_STATE},
        timerange_start=job.timerange_start, timerange_end=job.timerange_end,
        counts=SyncCounts(**counts),
    )


def stops_syncing(status: str) -> bool:
    """The connection lost its authorization: its queued jobs end, a running one is asked to."""
    return status in ("AUTH_ERROR", "DISCONNECTED")


def is_stale(known: KnownConnection | None, version: int) -> bool:
    """An older `connection.changed` arriving late changes nothing."""
    return known is not None and known.version > version


def refusal(
    known: KnownConnection, requested: Sequence[str] | None
) -> errors.ApiError | None:
    """Why a manual sync of these models (None: every enabled one) cannot start, if it cannot."""
    if known.status != "CONNECTED":
        return errors.Conflict(
            f"a sync needs a CONNECTED connection; current status is {known.status}",
            "connection_not_connected", [{"field": "status", "message": known.status}],
        )
    if requested is not None:
        details: list[errors.Detail] = [
            {"field": f"data_models_to_sync[{i}].data_model",
             "message": f"{name.upper()} is not enabled for reading on this connection"}
            for i, name in enumerate(requested) if name.upper() not in known.readable
        ]
        if details:
            return errors.Invalid("some data models are not enabled", details)
    if not (known.readable if requested is None else requested):
        return errors.Invalid(
            "this connection has no data model enabled for reading",
            [{"field": "data_models_to_sync", "message": "no enabled data model"}],
        )
    return None
