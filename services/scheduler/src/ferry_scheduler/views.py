"""Reads of the scheduler's state, as its internal API answers them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from ferry_contracts.internal.scheduler import (
    ModelSyncStatusOut,
    ScheduleOut,
    SchedulesOut,
    SyncStatusOut,
)

from . import domain
from .repository import Repository

Reader = Callable[[], AbstractAsyncContextManager[Repository]]


async def schedules(read: Reader, connection_id: str) -> SchedulesOut:
    """The schedule of each enabled data model of a connection (none when it is unknown)."""
    async with read() as repos:
        rows = await repos.schedules(connection_id)
    return SchedulesOut(schedules=[ScheduleOut.model_validate(r, from_attributes=True)
                                   for r in rows])


async def sync_status(read: Reader, connection_id: str) -> SyncStatusOut:
    """Each requested model's sync status; none while the connection is not known here yet."""
    async with read() as repos:
        known = await repos.connection(connection_id)
        if known is None:
            return SyncStatusOut(data_models=[])
        rows = domain.sync_status(known, await repos.schedules(connection_id),
                                  await repos.model_facts(connection_id))
    return SyncStatusOut(data_models=[ModelSyncStatusOut.model_validate(r, from_attributes=True)
                                      for r in rows])
