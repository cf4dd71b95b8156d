"""Reads of the records service, as its internal API answers them (the public records API's
shapes: docs/SERVICES.md, API.md)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Annotated, Any, Literal

from ferry_kit import errors
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from . import domain
from .domain import StoredRecord
from .repository import Repository

Reader = Callable[[], AbstractAsyncContextManager[Repository]]
# Times as Python's isoformat (`+00:00`), as this API has always written them.
IsoTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class RecordMeta(_Out):
    action: str
    first_seen_at: IsoTime
    modified_at: IsoTime
    deleted_at: IsoTime | None
    cursor: str


class RecordOut(_Out):
    id: str
    data: dict[str, Any]
    meta: RecordMeta = Field(alias="_ferry")


class RecordsPageOut(BaseModel):
    records: list[RecordOut]
    next_cursor: str
    has_more: bool


class CreatedVersion(BaseModel):
    """Version 1: the record as first seen."""

    version: Literal[1] = 1
    action: Literal["created"] = "created"
    recorded_at: IsoTime
    changes: dict[str, Any] = {}


class UpdatedVersion(BaseModel):
    version: int
    action: Literal["updated"] = "updated"
    recorded_at: IsoTime
    cursor: str
    changes: dict[str, Any]


class VersionedMeta(RecordMeta):
    version: int


class RecordWithVersionsOut(_Out):
    id: str
    data: dict[str, Any]
    meta: VersionedMeta = Field(alias="_ferry")
    versions: list[CreatedVersion | UpdatedVersion]


class ModelStateOut(BaseModel):
    data_model: str
    last_synced_at: IsoTime | None
    last_status: str | None
    last_error: str | None
    held_deletions: int


class SyncStateOut(BaseModel):
    data_models: list[ModelStateOut]


class RecordsQuery(BaseModel):
    """The query of a records page, as the route receives it (strings, checked here)."""

    cursor: str | None = None
    limit: str | None = None
    modified_after: str | None = None
    include_deleted: str | None = None


async def records_page(
    read: Reader, connection_id: str, data_model: str, query: RecordsQuery
) -> RecordsPageOut:
    """A model's records in change order after the cursor."""
    after = _after(query.cursor)
    size = _limit(query.limit)
    since = _time(query.modified_after, "modified_after")
    deleted = _flag(query.include_deleted, "include_deleted")
    # Following a cursor means "what changed since": deletions are changes too.
    with_deleted = deleted if deleted is not None else query.cursor is not None
    async with read() as repos:
        rows = await repos.page_of_changes(connection_id, data_model.upper(), after, size + 1,
                                           with_deleted, since)
    page = rows[:size]
    return RecordsPageOut(
        records=[RecordOut(id=r.record_id, data=r.data, meta=RecordMeta(**_meta(r)))
                 for r in page],
        next_cursor=domain.encode_cursor(page[-1].position if page else after),
        has_more=len(rows) > size,
    )


async def record(
    read: Reader, connection_id: str, data_model: str, record_id: str
) -> RecordWithVersionsOut:
    """A record with its versions: the first as seen, then each update's changed fields."""
    model = data_model.upper()
    async with read() as repos:
        r = await repos.record(connection_id, model, record_id)
        versions = await repos.versions(connection_id, model, record_id) if r else []
    if r is None:
        raise errors.NotFound(f"no record {record_id} in {model}")
    history: list[CreatedVersion | UpdatedVersion] = [CreatedVersion(recorded_at=r.first_seen_at)]
    history += [UpdatedVersion(version=i + 2, recorded_at=v.recorded_at,
                               cursor=domain.encode_cursor(v.position), changes=v.changes)
                for i, v in enumerate(versions)]
    meta = VersionedMeta(**_meta(r), version=r.version)
    return RecordWithVersionsOut(id=r.record_id, data=r.data, meta=meta, versions=history)


async def sync_state(read: Reader, connection_id: str) -> SyncStateOut:
    """How each model of a connection last synced, and the deletions it holds."""
    async with read() as repos:
        rows = await repos.model_states(connection_id)
    return SyncStateOut(data_models=[ModelStateOut.model_validate(r, from_attributes=True)
                                     for r in rows])


def _meta(r: StoredRecord) -> dict[str, Any]:
    return {"action": r.action, "first_seen_at": r.first_seen_at, "modified_at": r.modified_at,
            "deleted_at": r.deleted_at, "cursor": domain.encode_cursor(r.position)}


def _invalid(field: str, message: str) -> errors.Invalid:
    return errors.Invalid(message, [errors.detail(field, message)])


def _after(cursor: str | None) -> int:
    if not cursor:
        return 0
    decoded = domain.decode_cursor(cursor)
    if decoded is None:
        raise _invalid("cursor", "cursor is not a cursor this API returned")
    return decoded


def _limit(limit: str | None) -> int:
    if limit in (None, ""):
        return DEFAULT_LIMIT
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise _invalid("limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(limit)


def _time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    parsed = domain.provider_time(value)
    if parsed is None:
        raise _invalid(field, f"{field} must be an RFC 3339 time")
    return parsed


def _flag(value: str | None, field: str) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise _invalid(field, f"{field} must be true or false")
