"""Events about syncs: requests, job lifecycle, completion."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .envelope import Payload
from .values import JobOutcome, JobStatus, Trigger

__all__ = [
    "JobStatus", "ModelSyncRequest", "SyncCompleted", "SyncCounts", "SyncJob", "SyncJobChanged",
    "SyncRequested", "Trigger",
]


class SyncCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    fetched: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


def initial_job_id(batch_id: str, data_model: str) -> str:
    """The id of a model's job in an initial sync whose batch id was chosen up front.

    The connections service answers a new connection with these ids before the executor has made
    the jobs: the batch's uuid7 time prefix keeps ids in time order, the model makes them unique.
    """
    prefix = batch_id.replace("-", "")[:16]
    tail = hashlib.sha256(f"{batch_id}/{data_model.upper()}".encode()).hexdigest()[:16]
    return f"job_{prefix}{tail}"


class ModelSyncRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    data_model: str
    sync_from: date | None = None
    full_sync: bool = False


class SyncRequested(Payload):
    """Sync these models of a connection now; the executor makes one job per model."""

    EVENT_TYPE = "sync.requested"

    batch_id: str
    connection_id: str
    provider_name: str
    trigger: Trigger = "schedule"
    is_initial_sync: bool = False
    is_one_off: bool = False
    models: list[ModelSyncRequest]
    # An initial sync: whether the project wants a `record.changed` per record during it, as the
    # `connection.changed` that asked for the sync said. It travels with the sync's pages so the
    # records service need not have seen that `connection.changed` first. None: not said.
    record_events: bool | None = None


class SyncJob(BaseModel):
    """A sync job as the public API shows it (seed 003 fields)."""

    model_config = ConfigDict(frozen=True)

    object: Literal["sync_job"] = "sync_job"
    id: str
    connection_id: str
    data_model: str
    model_id: str
    status: JobStatus
    attempt: int = 0
    batch_id: str | None = None
    created_at: datetime
    modified_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    entity_id: str | None = None
    file_id: str | None = None
    is_initial_sync: bool = False
    is_one_off: bool = False
    full_sync: bool = False
    pagination_state: dict[str, Any] = {}
    timerange_start: datetime | None = None
    timerange_end: datetime | None = None
    counts: SyncCounts = SyncCounts()


class SyncJobChanged(Payload):
    EVENT_TYPE = "sync.job.changed"

    job: SyncJob
    previous_status: JobStatus | None = None
    # The job row's version: it grows with every change of the row, so a reader keeping a copy
    # (the gateway's) keeps the newest whatever order copies reach it in. None: not said.
    version: int | None = None


class SyncCompleted(Payload):
    """All records of a job are stored and compared; `status` says how the job ended."""

    EVENT_TYPE = "sync.completed"

    job_id: str
    batch_id: str | None = None
    connection_id: str
    provider_name: str
    data_model: str
    status: JobOutcome
    full_sync: bool = False
    is_initial_sync: bool = False
    counts: SyncCounts = SyncCounts()
    held_deletions: int = 0
    error: str | None = None
    last_synced_at: datetime | None = None
    high_water_mark: datetime | None = None
