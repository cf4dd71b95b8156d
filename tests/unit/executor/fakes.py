"""An in-memory executor repository: the rules of the SQL that handlers rely on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from ferry_executor.domain import WAITING, Job, KnownConnection, NewJob, Outcome

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FakeRepository:
    def __init__(self) -> None:
        self.jobs_by_id: dict[str, Job] = {}
        self.outcomes: dict[tuple[str, str], Outcome] = {}
        self.connections: dict[str, KnownConnection] = {}

    def add(self, job: Job) -> Job:
        self.jobs_by_id[job.id] = job
        return job

    async def waiting_job(self, connection_id: str, data_model: str) -> Job | None:
        return next((j for j in self.jobs_by_id.values() if j.connection_id == connection_id
                     and j.data_model == data_model and j.status in WAITING), None)

    async def insert_job(self, new: NewJob) -> Job | None:
        if await self.waiting_job(new.connection_id, new.data_model) is not None:
            return None
        return self.add(job(**vars(new)))

    async def widen_waiting_job(self, job_id: str, *, full_sync: bool, sync_from: date | None,
                                is_initial_sync: bool, record_events: bool | None = None) -> Job:
        j = self.jobs_by_id[job_id]
        since = None if sync_from is None or j.sync_from is None else min(sync_from, j.sync_from)
        return self.add(replace(
            j, full_sync=j.full_sync or full_sync, sync_from=since,
            is_initial_sync=j.is_initial_sync or is_initial_sync,
            record_events=j.record_events if record_events is None else record_events))

    async def job(self, job_id: str, *, lock: bool = False) -> Job | None:
        return self.jobs_by_id.get(job_id)

    async def checkpoint(self, job_id: str, owner: str, state: dict[str, Any],
                         lease_seconds: float) -> bool:
        j = self.jobs_by_id.get(job_id)
        if j is None or j.lease_owner != owner:
            return False
        self.add(replace(j, pagination_state=dict(state)))
        return True

    async def checkpoint_job(self, job_id: str, owner: str, state: dict[str, Any],
                             lease_seconds: float) -> Job | None:
        held = await self.checkpoint(job_id, owner, state, lease_seconds)
        return self.jobs_by_id[job_id] if held else None

    async def transition(self, job_id: str, *, status: str, phase: str, owner: str | None = None,
                         error: str | None = None, run_after: datetime | None = None,
                         completed: bool = False, counts: dict[str, Any] | None = None,
                         ) -> Job | None:
        j = self.jobs_by_id.get(job_id)
        if j is None or (owner is not None and j.lease_owner != owner):
            return None
        return self.add(replace(
            j, status=status, phase=phase, error=error or j.error,
            completed_at=T0 if completed else j.completed_at,
            counts=j.counts if counts is None else counts))

    async def set_counts(self, job_id: str, counts: dict[str, Any]) -> None:
        self.add(replace(self.jobs_by_id[job_id], counts=counts))

    async def request_cancel(self, job_id: str) -> Job:
        return self.add(replace(self.jobs_by_id[job_id], cancel_requested=True))

    async def record_outcome(self, connection_id: str, data_model: str, o: Outcome) -> None:
        self.outcomes[(connection_id, data_model)] = o

    async def active_jobs_of(self, connection_id: str) -> list[Job]:
        return [j for j in self.jobs_by_id.values()
                if j.connection_id == connection_id and j.status in (*WAITING, "running")]

    async def purge_connection(self, connection_id: str) -> None:
        self.jobs_by_id = {k: j for k, j in self.jobs_by_id.items()
                           if j.connection_id != connection_id}
        self.connections.pop(connection_id, None)

    async def connection(self, connection_id: str, *, lock: bool = False
                         ) -> KnownConnection | None:
        return self.connections.get(connection_id)

    async def save_connection(self, c: KnownConnection) -> None:
        self.connections[c.connection_id] = c


class FakeConnections:
    """The connections service's answer for connections this executor has not seen yet."""

    def __init__(self) -> None:
        self.known: dict[str, KnownConnection] = {}
        self.asked = 0

    async def connection(self, project_id: str, connection_id: str) -> KnownConnection | None:
        self.asked += 1
        return self.known.get(connection_id)


def job(**fields: Any) -> Job:
    base: dict[str, Any] = dict(
        id="job_1", project_id="p1", connection_id="c1", provider_name="sandbox",
        data_model="CONTACTS", status="queued", phase="fetching", attempt=0, batch_id="b1",
        trigger="manual", is_initial_sync=False, record_events=None, is_one_off=False,
        full_sync=False,
        sync_from=None, pagination_state={}, timerange_start=None, timerange_end=None, counts={},
        error=None, run_after=T0, lease_owner=None, lease_until=None, cancel_requested=False,
        created_at=T0, modified_at=T0, started_at=None, completed_at=None,
    )
    return Job(**{**base, **fields})
