"""Reads of the scheduler's state, as its internal API answers them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, PlainSerializer

from .repository import Repository

Reader = Callable[[], AbstractAsyncContextManager[Repository]]
# Times as Python's isoformat (`+00:00`), as this API has always written them.
IsoTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]


class ScheduleOut(BaseModel):
    data_model: str
    frequency: str
    interval_minutes: int
    next_run_at: IsoTime
    next_full_sync_at: IsoTime
    paused: bool
    last_run_at: IsoTime | None


class SchedulesOut(BaseModel):
    schedules: list[ScheduleOut]


async def schedules(read: Reader, connection_id: str) -> SchedulesOut:
    """The schedule of each enabled data model of a connection (none when it is unknown)."""
    async with read() as repos:
        rows = await repos.schedules(connection_id)
    return SchedulesOut(schedules=[ScheduleOut.model_validate(r, from_attributes=True)
                                   for r in rows])
