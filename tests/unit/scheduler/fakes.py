"""An in-memory scheduler repository: the rules of the SQL without the jitter."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ferry_scheduler.domain import DueSchedule, KnownConnection, ModelToSync, Schedule, ScheduleSpec


@dataclass
class Row:
    schedule: Schedule
    sync_from: object
    initial_requested: bool = False


class FakeRepository:
    def __init__(self) -> None:
        self.connections: dict[str, KnownConnection] = {}
        self.rows: dict[tuple[str, str], Row] = {}

    async def connection_for_update(self, connection_id: str) -> KnownConnection | None:
        return self.connections.get(connection_id)

    async def save_connection(self, c: KnownConnection) -> None:
        self.connections[c.connection_id] = c

    async def delete_connection(self, connection_id: str) -> None:
        self.connections.pop(connection_id, None)
        self.rows = {k: v for k, v in self.rows.items() if k[0] != connection_id}

    async def keep_only_models(self, connection_id: str, keep: list[str]) -> None:
        self.rows = {k: v for k, v in self.rows.items() if k[0] != connection_id or k[1] in keep}

    async def save_schedule(self, connection_id: str, spec: ScheduleSpec, now: datetime) -> None:
        old = self.rows.get((connection_id, spec.data_model))
        next_run = now + timedelta(minutes=spec.interval_minutes)
        next_full = now + timedelta(hours=spec.full_sync_hours)
        if old is not None:
            if old.schedule.interval_minutes == spec.interval_minutes:
                next_run = old.schedule.next_run_at
            next_full = min(old.schedule.next_full_sync_at, next_full)
        schedule = Schedule(spec.data_model, spec.frequency, spec.interval_minutes, next_run,
                            next_full, spec.paused, old.schedule.last_run_at if old else None)
        self.rows[(connection_id, spec.data_model)] = Row(
            schedule, spec.sync_from, old.initial_requested if old else False)

    async def take_initial(self, connection_id: str, now: datetime) -> list[ModelToSync]:
        taken = []
        for (cid, model), row in sorted(self.rows.items()):
            if cid == connection_id and not row.initial_requested and not row.schedule.paused:
                row.initial_requested = True
                row.schedule = replace(row.schedule, last_run_at=now)
                taken.append(ModelToSync(model, row.sync_from))  # type: ignore[arg-type]
        return taken

    async def claim_due(self, limit: int, jitter_fraction: float, max_jitter: float,
                        now: datetime) -> list[DueSchedule]:
        due = [(k, r) for k, r in sorted(self.rows.items()) if not r.schedule.paused
               and min(r.schedule.next_run_at, r.schedule.next_full_sync_at) <= now][:limit]
        claimed = []
        for (cid, model), row in due:
            s, c = row.schedule, self.connections[cid]
            full = s.next_full_sync_at <= now
            row.schedule = replace(
                s, last_run_at=now, next_run_at=now + timedelta(minutes=s.interval_minutes),
                next_full_sync_at=now + timedelta(hours=c.full_sync_interval_hours) if full
                else s.next_full_sync_at)
            claimed.append(DueSchedule(cid, model, row.sync_from, full,  # type: ignore[arg-type]
                                       c.project_id, c.provider_name))
        return claimed

    async def schedules(self, connection_id: str) -> list[Schedule]:
        return [r.schedule for (cid, _), r in sorted(self.rows.items()) if cid == connection_id]
