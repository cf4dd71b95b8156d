"""Events carrying records: fetched pages from the executor, changes from the records service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import Payload
from .values import RecordAction


class RecordsPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["page"] = "page"
    job_id: str
    data_model: str
    page: int
    records: list[dict[str, Any]]
    # How the job that fetched the page runs: initial syncs emit no per-record events unless the
    # project opted in; full syncs track the ids they saw to find deletions at the end.
    is_initial_sync: bool = False
    full_sync: bool = False
    # An initial sync: whether the project wants a `record.changed` per record (the request's
    # `record_events`, carried by every page of the job). None: not said; the records service
    # goes by what it remembers of the connection.
    record_events: bool | None = None
    # The id of each record, in order, when the provider's id is not the record's `id` field
    # (another path, or a composite id). None: each record's `id`.
    ids: list[str] | None = None
    # Records the provider says are gone (tombstones, a "deleted since" endpoint). They go
    # through the records service's mass-delete guard like a full sync's deletions.
    deleted_ids: list[str] = []


class RecordsEnd(BaseModel):
    """The last message of a job: how it ended and what it fetched."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["end"] = "end"
    job_id: str
    batch_id: str | None = None
    data_model: str
    provider_name: str
    status: Literal["complete", "failed", "cancelled"]
    full_sync: bool = False
    is_initial_sync: bool = False
    sync_from: date | None = None
    pages: int = 0
    fetched: int = 0
    error: str | None = None
    started_at: datetime | None = None
    high_water_mark: datetime | None = None


class RecordsFetched(Payload):
    EVENT_TYPE = "records.fetched"

    item: Annotated[RecordsPage | RecordsEnd, Field(discriminator="kind")]


class FieldChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    old: Any = None
    new: Any = None


class RecordChanged(Payload):
    EVENT_TYPE = "record.changed"

    data_model: str
    record_id: str
    action: RecordAction
    cursor: str
    job_id: str | None = None
    is_initial_sync: bool = False
    modified_at: datetime
    data: dict[str, Any] | None = None
    changed_fields: dict[str, FieldChange] = {}
