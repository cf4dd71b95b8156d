"""Use cases of the scheduler: keep schedules in step with connections, fire due syncs."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

import asyncpg
from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.envelope import uuid7
from ferry_contracts.sync import ModelSyncRequest, SyncRequested
from ferry_contracts.topics import CONNECTION_CHANGED
from ferry_kit import inbox, outbox
from ferry_kit import logging as klog

from . import domain
from . import repository as repo
from .settings import Settings

log = klog.get("ferry.scheduler")


def _request(connection_id: str, project_id: str | None, provider: str, models: list[ModelSyncRequest],
             trigger: str, initial: bool = False) -> Envelope[Any]:
    return Envelope.of(
        SyncRequested(batch_id=str(uuid7()), connection_id=connection_id, provider_name=provider,
                      trigger=trigger, is_initial_sync=initial, models=models),  # type: ignore[arg-type]
        project_id=project_id, connection_id=connection_id,
    )


class Scheduler:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool
        self._task: asyncio.Task[None] | None = None

    # --- connection.changed -------------------------------------------------------------------

    async def on_connection_changed(self, events: list[Envelope[Any]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            out: list[Envelope[Any]] = []
            for event in await inbox.claim(conn, CONNECTION_CHANGED, events):
                out += await self._apply(conn, event.project_id, event.data)
            await outbox.add(conn, out)

    async def _apply(self, conn: asyncpg.Connection, project_id: str | None, c: ConnectionChanged) -> list[Envelope[Any]]:
        known = await repo.connection(conn, c.connection_id)
        if known is not None and known["version"] > c.version:
            return []  # an older update arriving late
        if c.status == "DELETED":
            await repo.delete_connection(conn, c.connection_id)
            return []
        await repo.upsert_connection(conn, {
            "connection_id": c.connection_id, "project_id": project_id, "provider_name": c.provider_name,
            "status": c.status, "full_sync_interval_hours": c.full_sync_interval_hours, "version": c.version,
        })
        paused = c.status != "CONNECTED"
        enabled = [m for m in c.sync_config if domain.syncable(m)]
        await repo.remove_models(conn, c.connection_id, [m.data_model.upper() for m in enabled])
        for m in enabled:
            interval = domain.interval_minutes(m)
            await repo.upsert_schedule(
                conn, c.connection_id, m.data_model.upper(), frequency=m.frequency, interval=interval,
                sync_from=m.sync_from, full_hours=c.full_sync_interval_hours, paused=paused,
                jitter=domain.jitter_seconds(interval, self.settings.scheduler_jitter_fraction,
                                             self.settings.scheduler_max_jitter_seconds),
            )
        if paused:
            return []
        out = []
        initial = await repo.take_initial(conn, c.connection_id)
        if initial:
            models = [ModelSyncRequest(data_model=r["data_model"], sync_from=r["sync_from"], full_sync=True) for r in initial]
            out.append(_request(c.connection_id, project_id, c.provider_name, models, "initial", initial=True))
        elif known is not None and known["status"] != "CONNECTED" and c.previous_status in ("AUTH_ERROR", "DISCONNECTED", "AUTH_REQUIRED", "CONNECTING"):
            # Re-connected: catch up on what changed while the connection was down.
            models = [ModelSyncRequest(data_model=m.data_model.upper(), sync_from=m.sync_from) for m in enabled]
            if models:
                out.append(_request(c.connection_id, project_id, c.provider_name, models, "schedule"))
        return out

    # --- due schedules ------------------------------------------------------------------------

    async def fire_due(self) -> int:
        """Claim one batch of due schedules and request their syncs; returns how many fired."""
        s = self.settings
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await repo.claim_due(conn, s.scheduler_batch_size, s.scheduler_jitter_fraction, s.scheduler_max_jitter_seconds)
            groups: dict[tuple[str, bool], list[asyncpg.Record]] = defaultdict(list)
            for r in rows:
                groups[(r["connection_id"], r["full"])].append(r)
            events = [
                _request(cid, rs[0]["project_id"], rs[0]["provider_name"],
                         [ModelSyncRequest(data_model=r["data_model"], sync_from=r["sync_from"], full_sync=full) for r in rs],
                         "full_schedule" if full else "schedule")
                for (cid, full), rs in groups.items()
            ]
            await outbox.add(conn, events)
        return len(rows)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler-loop")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                fired = await self.fire_due()
            except Exception as e:  # noqa: BLE001 - a database lost mid-claim (a restart) raises
                # InterfaceError or InternalClientError besides PostgresError: the loop lives on
                log.warning("firing due schedules failed", error=str(e))
                fired = 0
            if fired < self.settings.scheduler_batch_size:
                await asyncio.sleep(self.settings.scheduler_poll_seconds)
