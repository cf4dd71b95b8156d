"""Pure scheduling rules and the scheduler's own records (no I/O)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from ferry_contracts.connections import ConnectionChanged, ModelSyncConfig
from ferry_contracts.sync import SyncCompleted, SyncJob
from ferry_contracts.values import (
    ACTIVE_JOB_STATUSES,
    READABLE,
    ConnectionStatus,
    Frequency,
    SyncStatus,
)

MINUTES: Final[dict[Frequency, int]] = {
    "HOURLY": 60, "DAILY": 24 * 60, "WEEKLY": 7 * 24 * 60, "MONTHLY": 30 * 24 * 60,
}
# A connection coming back to CONNECTED from one of these catches up at once.
CATCH_UP_FROM: Final[frozenset[ConnectionStatus]] = frozenset(
    {"AUTH_ERROR", "DISCONNECTED", "AUTH_REQUIRED", "CONNECTING"}
)


@dataclass(frozen=True)
class KnownConnection:
    """What the scheduler keeps of a connection: its newest `connection.changed`."""

    connection_id: str
    project_id: str | None
    provider_name: str
    status: str
    full_sync_interval_hours: int
    version: int
    # The requested data models, in order: sync-status lists each one.
    data_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScheduleSpec:
    """How one enabled model of a connection should be scheduled."""

    data_model: str
    frequency: str
    interval_minutes: int
    sync_from: date | None
    jitter_seconds: float
    full_sync_hours: int
    paused: bool


@dataclass(frozen=True)
class Schedule:
    data_model: str
    frequency: str
    interval_minutes: int
    next_run_at: datetime
    next_full_sync_at: datetime
    paused: bool
    last_run_at: datetime | None


@dataclass(frozen=True)
class ModelToSync:
    data_model: str
    sync_from: date | None


@dataclass(frozen=True)
class DueSchedule:
    """A schedule claimed to run now; `full` when its periodic full sync is due."""

    connection_id: str
    data_model: str
    sync_from: date | None
    full: bool
    project_id: str | None
    provider_name: str


def interval_minutes(cfg: ModelSyncConfig) -> int:
    if cfg.frequency == "CUSTOM":
        return max(1, int(cfg.interval_minutes or 60))
    return MINUTES[cfg.frequency]


def syncable(cfg: ModelSyncConfig) -> bool:
    """Only models the connection may read are pulled; WRITE-only and DISABLED are not."""
    return cfg.access in READABLE


def jitter_seconds(interval_min: int, fraction: float, cap: float) -> float:
    """The upper bound of the random delay added to a run of this interval."""
    return min(cap, interval_min * 60 * fraction)


def catches_up(known: KnownConnection | None, event: ConnectionChanged) -> bool:
    """Re-connected after a break: sync what changed while the connection was down."""
    return (
        known is not None
        and known.status != "CONNECTED"
        and event.previous_status in CATCH_UP_FROM
    )


def group_due(rows: Iterable[DueSchedule]) -> dict[tuple[str, bool], list[DueSchedule]]:
    """One sync request per connection and kind (incremental or full), in claim order."""
    groups: dict[tuple[str, bool], list[DueSchedule]] = defaultdict(list)
    for row in rows:
        groups[(row.connection_id, row.full)].append(row)
    return dict(groups)


# For one job, the records service's `sync.completed` outranks the executor's own failure of it
# (a finishing timeout): the later answer of the owner of the outcome counts.
JOB_FAILED_RANK: Final = 0
COMPLETED_RANK: Final = 1


@dataclass(frozen=True)
class JobState:
    """A job as its newest `sync.job.changed` said."""

    job_id: str
    connection_id: str
    data_model: str
    status: str
    changed_at: datetime


@dataclass(frozen=True)
class Outcome:
    """How a job ended, for its model's last status; `held_deletions` None keeps the count."""

    connection_id: str
    data_model: str
    job_id: str
    rank: int
    status: str
    error: str | None
    last_synced_at: datetime | None
    held_deletions: int | None


@dataclass(frozen=True)
class ModelFacts:
    """What the jobs of one model of a connection say, as stored."""

    data_model: str
    active: bool
    last_status: str | None
    last_error: str | None
    last_synced_at: datetime | None
    held_deletions: int


@dataclass(frozen=True)
class ModelStatus:
    data_model: str
    status: SyncStatus
    last_synced_at: datetime | None
    next_sync_at: datetime | None
    last_error: str | None
    held_deletions: int


def requested_models(changed: ConnectionChanged) -> tuple[str, ...]:
    """The models sync-status lists: the requested ones (older senders: the configured ones)."""
    names = changed.requested_data_types or [m.data_model for m in changed.sync_config]
    return tuple(n.upper() for n in names)


def job_state(job: SyncJob) -> JobState:
    changed_at = job.modified_at or job.completed_at or job.started_at or job.created_at
    return JobState(job.id, job.connection_id, job.data_model.upper(), job.status, changed_at)


def failed_outcome(job: SyncJob) -> Outcome:
    return Outcome(job.connection_id, job.data_model.upper(), job.id, JOB_FAILED_RANK, "failed",
                   job.error, None, None)


def completed_outcome(done: SyncCompleted) -> Outcome:
    """A complete full sync says how many deletions it held; any other keeps the count."""
    held = done.held_deletions if done.status == "complete" and done.full_sync else None
    synced = done.last_synced_at if done.status == "complete" else None
    return Outcome(done.connection_id, done.data_model.upper(), done.job_id, COMPLETED_RANK,
                   done.status, done.error, synced, held)


def is_active(status: str) -> bool:
    return status in ACTIVE_JOB_STATUSES


def model_status(
    name: str, connected: bool, schedule: Schedule | None, facts: ModelFacts | None
) -> ModelStatus:
    """DISABLED (not synced), PAUSED (connection or schedule), SYNCING, ERROR or IDLE."""
    status: SyncStatus
    if schedule is None:
        status = "DISABLED"
    elif not connected or schedule.paused:
        status = "PAUSED"
    elif facts is not None and facts.active:
        status = "SYNCING"
    elif facts is not None and facts.last_status == "failed":
        status = "ERROR"
    else:
        status = "IDLE"
    runs = schedule is not None and status not in ("DISABLED", "PAUSED")
    return ModelStatus(
        data_model=name, status=status,
        last_synced_at=facts.last_synced_at if facts else None,
        next_sync_at=schedule.next_run_at if runs and schedule else None,
        last_error=facts.last_error if facts and status == "ERROR" else None,
        held_deletions=facts.held_deletions if facts else 0,
    )


def sync_status(
    known: KnownConnection, schedules: Iterable[Schedule], facts: Iterable[ModelFacts]
) -> list[ModelStatus]:
    """Each requested model of the connection with its status, in the requested order."""
    by_schedule = {s.data_model: s for s in schedules}
    by_facts = {f.data_model: f for f in facts}
    connected = known.status == "CONNECTED"
    return [model_status(name, connected, by_schedule.get(name), by_facts.get(name))
            for name in known.data_models]
