"""Reads of the executor's jobs, as its internal API answers them."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Annotated, Final

from ferry_contracts.sync import SyncJob
from ferry_contracts.values import JOB_STATUSES
from ferry_kit import cursor as cursor_text
from ferry_kit import errors
from pydantic import BaseModel, PlainSerializer

from .domain import to_sync_job
from .repository import Repository

Reader = Callable[[], AbstractAsyncContextManager[Repository]]
# Times as Python's isoformat (`+00:00`), as this API has always written them.
IsoTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]
_JOB_ID: Final = re.compile(r"job_[0-9a-f]{32}")


class JobPage(BaseModel):
    data: list[SyncJob]
    next_cursor: str | None


class JobOut(SyncJob):
    """A job with its project, for the gateway's ownership check, and its row's version (the
    gateway keeps the newest copy of a job by it)."""

    project_id: str | None
    version: int | None = None


class ModelSummaryOut(BaseModel):
    data_model: str
    status: str | None
    last_status: str | None
    last_error: str | None
    last_synced_at: IsoTime | None


class SummaryOut(BaseModel):
    data_models: list[ModelSummaryOut]


def _before(cursor: str | None) -> str | None:
    if not cursor:
        return None
    value = cursor_text.decode(cursor)
    if value is None or not _JOB_ID.fullmatch(value):
        raise errors.Invalid("invalid cursor", [
            {"field": "cursor", "message": "not a cursor from this API"}])
    return value


async def jobs(
    read: Reader, connection_id: str, status: str | None, data_model: str | None, limit: int,
    cursor: str | None,
) -> JobPage:
    """A connection's jobs, newest first, a page at a time."""
    before = _before(cursor)
    if status is not None and status not in JOB_STATUSES:
        raise errors.Invalid(f"unknown status {status}", [
            {"field": "status", "message": "unknown status"}])
    async with read() as repos:
        rows = await repos.jobs(connection_id, status=status,
                                data_model=data_model.upper() if data_model else None,
                                limit=limit + 1, before_id=before)
    page = rows[:limit]
    more = len(rows) > limit
    return JobPage(data=[to_sync_job(j) for j in page],
                   next_cursor=cursor_text.encode(page[-1].id) if more else None)


async def job(read: Reader, job_id: str) -> JobOut:
    async with read() as repos:
        found = await repos.job(job_id)
    if found is None:
        raise errors.NotFound(f"no sync job {job_id}")
    return JobOut(**dict(to_sync_job(found)), project_id=found.project_id, version=found.version)


async def summary(read: Reader, connection_id: str) -> SummaryOut:
    """Per model: the status of its job in progress (if any) and how the last one ended."""
    async with read() as repos:
        rows = await repos.summary(connection_id)
    return SummaryOut(data_models=[ModelSummaryOut.model_validate(r, from_attributes=True)
                                   for r in rows])
