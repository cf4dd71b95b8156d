"""An in-memory scheduler repository: the rules of the SQL without the jitter."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ferry_contracts.values import ACTIVE_JOB_STATUSES
from ferry_scheduler import domain as d


@dataclass
class Row:
    schedule: d.Schedule
    sync_from: object
    initial_requested: bool = False


class FakeRepository:
    def __init__(self) -> None:
        self.connections: dict[str, d.KnownConnection] = {}
        self.rows: dict[tuple[str, str], Row] = {}
        self.jobs: dict[str, d.JobState] = {}
        self.outcomes: dict[tuple[str, str], d.Outcome] = {}

    async def connection_for_update(self, connection_id: str) -> d.KnownConnection | None:
        return self.connections.get(connection_id)

    async def save_connection(self, c: d.KnownConnection) -> None:
        self.connections[c.connection_id] = c

    async def delete_connection(self, connection_id: str) -> None:
        self.connections.pop(connection_id, None)
        self.rows = {k: v for k, v in self.rows.items() if k[0] != connection_id}
        self.jobs = {k: j for k, j in self.jobs.items() if j.connection_id != connection_id}
        self.outcomes = {k: o for k, o in self.outcomes.items() if k[0] != connection_id}

    async def keep_only_models(self, connection_id: str, keep: list[str]) -> None:
        self.rows = {k: v for k, v in self.rows.items() if k[0] != connection_id or k[1] in keep}

    async def save_schedule(self, connection_id: str, spec: d.ScheduleSpec, now: datetime) -> None:
        old = self.rows.get((connection_id, spec.data_model))
        next_run = now + timedelta(minutes=spec.interval_minutes)
        next_full = now + timedelta(hours=spec.full_sync_hours)
        if old is not None:
            if old.schedule.interval_minutes == spec.interval_minutes:
                next_run = old.schedule.next_run_at
            next_full = min(old.schedule.next_full_sync_at, next_full)
        schedule = d.Schedule(spec.data_model, spec.frequency, spec.interval_minutes, next_run,
                            next_full, spec.paused, old.schedule.last_run_at if old else None)
        self.rows[(connection_id, spec.data_model)] = Row(
            schedule, spec.sync_from, old.initial_requested if old else False)

    async def take_initial(self, connection_id: str, now: datetime) -> list[d.ModelToSync]:
        taken = []
        for (cid, model), row in sorted(self.rows.items()):
            if cid == connection_id and not row.initial_requested and not row.schedule.paused:
                row.initial_requested = True
                row.schedule = replace(row.schedule, last_run_at=now)
                taken.append(d.ModelToSync(model, row.sync_from))  # type: ignore[arg-type]
        return taken

    async def claim_due(self, limit: int, jitter_fraction: float, max_jitter: float,
                        now: datetime) -> list[d.DueSchedule]:
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
            claimed.append(d.DueSchedule(cid, model, row.sync_from, full,  # type: ignore[arg-type]
                                       c.project_id, c.provider_name))
        return claimed

    async def schedules(self, connection_id: str) -> list[d.Schedule]:
        return [r.schedule for (cid, _), r in sorted(self.rows.items()) if cid == connection_id]

    async def connection(self, connection_id: str) -> d.KnownConnection | None:
        return self.connections.get(connection_id)

    async def save_job(self, job: d.JobState) -> None:
        old = self.jobs.get(job.job_id)
        if old is None or (old.status in ACTIVE_JOB_STATUSES and old.changed_at <= job.changed_at):
            self.jobs[job.job_id] = job

    async def save_outcome(self, o: d.Outcome) -> None:
        key = (o.connection_id, o.data_model)
        old = self.outcomes.get(key)
        if old is None:
            self.outcomes[key] = replace(o, held_deletions=o.held_deletions or 0)
        elif (old.job_id, old.rank) <= (o.job_id, o.rank):
            synced = max(filter(None, [old.last_synced_at, o.last_synced_at]), default=None)
            held = old.held_deletions if o.held_deletions is None else o.held_deletions
            self.outcomes[key] = replace(o, last_synced_at=synced, held_deletions=held)

    async def model_facts(self, connection_id: str) -> list[d.ModelFacts]:
        models = {j.data_model for j in self.jobs.values() if j.connection_id == connection_id}
        models |= {m for cid, m in self.outcomes if cid == connection_id}
        facts = []
        for model in sorted(models):
            o = self.outcomes.get((connection_id, model))
            active = any(j.connection_id == connection_id and j.data_model == model
                         and j.status in ACTIVE_JOB_STATUSES for j in self.jobs.values())
            facts.append(d.ModelFacts(model, active, o.status if o else None,
                                    o.error if o else None, o.last_synced_at if o else None,
                                    (o.held_deletions or 0) if o else 0))
        return facts
