"""What the scheduler does, one typed function per event or command, listed in `HANDLERS`.

Each runs inside a unit of work the kit opened (inbox claimed, outbox written on commit).
"""

from __future__ import annotations

from typing import Final

from ferry_contracts import Envelope
from ferry_contracts.connections import ConnectionChanged
from ferry_contracts.envelope import uuid7
from ferry_contracts.sync import ModelSyncRequest, SyncCompleted, SyncJobChanged, SyncRequested
from ferry_contracts.topics import CONNECTION_CHANGED, SYNC_COMPLETED, SYNC_JOB_CHANGED
from ferry_contracts.values import Trigger
from ferry_kit.clock import Clock
from ferry_kit.dispatch import EventHandler
from ferry_kit.projection import newer_connection
from ferry_kit.uow import UnitOfWork

from . import domain
from .domain import DueSchedule, KnownConnection, ScheduleSpec
from .repository import Repository
from .settings import Settings

Uow = UnitOfWork[Repository]


async def on_connection_changed(
    event: Envelope[ConnectionChanged], uow: Uow, clock: Clock, settings: Settings
) -> None:
    """Keep the connection's schedules in step with it; request the initial or catch-up sync."""
    changed = event.data
    newer = await newer_connection(uow.repos, changed)
    if newer is None:
        return
    await uow.repos.save_connection(KnownConnection(
        connection_id=changed.connection_id, project_id=event.project_id,
        provider_name=changed.provider_name, status=changed.status,
        full_sync_interval_hours=changed.full_sync_interval_hours, version=changed.version,
        data_models=domain.requested_models(changed),
    ))
    specs = _specs(changed, settings)
    now = clock.now()
    await uow.repos.keep_only_models(changed.connection_id, [s.data_model for s in specs])
    for spec in specs:
        await uow.repos.save_schedule(changed.connection_id, spec, now)
    if changed.status != "CONNECTED":
        return
    initial = await uow.repos.take_initial(changed.connection_id, now)
    if initial:
        models = [ModelSyncRequest(data_model=m.data_model, sync_from=m.sync_from, full_sync=True)
                  for m in initial]
        uow.emit(_request(changed.connection_id, changed.provider_name, models, "initial",
                          batch_id=changed.initial_batch_id,
                          record_events=changed.initial_sync_record_events),
                 project_id=event.project_id)
    elif specs and domain.catches_up(newer.known, changed):
        models = [ModelSyncRequest(data_model=s.data_model, sync_from=s.sync_from) for s in specs]
        uow.emit(_request(changed.connection_id, changed.provider_name, models, "schedule"),
                 project_id=event.project_id)


async def fire_due(uow: Uow, clock: Clock, settings: Settings) -> int:
    """Claim one batch of due schedules and request their syncs; returns how many fired."""
    rows = await uow.repos.claim_due(
        settings.scheduler_batch_size, settings.scheduler_jitter_fraction,
        settings.scheduler_max_jitter_seconds, clock.now(),
    )
    for (connection_id, full), due in domain.group_due(rows).items():
        uow.emit(_due_request(connection_id, full, due), project_id=due[0].project_id)
    return len(rows)


async def on_sync_job_changed(event: Envelope[SyncJobChanged], uow: Uow) -> None:
    """Track whether each model has a job under way; a job the executor failed ends in ERROR."""
    job = event.data.job
    await uow.repos.save_job(domain.job_state(job))
    if job.status == "failed":
        await uow.repos.save_outcome(domain.failed_outcome(job))


async def on_sync_completed(event: Envelope[SyncCompleted], uow: Uow) -> None:
    """The model's last outcome: status, error, last synced time and held deletions."""
    await uow.repos.save_outcome(domain.completed_outcome(event.data))


HANDLERS: Final[dict[str, EventHandler]] = {
    CONNECTION_CHANGED: on_connection_changed,
    SYNC_JOB_CHANGED: on_sync_job_changed,
    SYNC_COMPLETED: on_sync_completed,
}


def _specs(changed: ConnectionChanged, settings: Settings) -> list[ScheduleSpec]:
    specs = []
    for cfg in filter(domain.syncable, changed.sync_config):
        interval = domain.interval_minutes(cfg)
        jitter = domain.jitter_seconds(interval, settings.scheduler_jitter_fraction,
                                       settings.scheduler_max_jitter_seconds)
        specs.append(ScheduleSpec(
            data_model=cfg.data_model.upper(), frequency=cfg.frequency, interval_minutes=interval,
            sync_from=cfg.sync_from, jitter_seconds=jitter,
            full_sync_hours=changed.full_sync_interval_hours,
            paused=changed.status != "CONNECTED",
        ))
    return specs


def _due_request(connection_id: str, full: bool, due: list[DueSchedule]) -> SyncRequested:
    models = [ModelSyncRequest(data_model=d.data_model, sync_from=d.sync_from, full_sync=full)
              for d in due]
    trigger: Trigger = "full_schedule" if full else "schedule"
    return _request(connection_id, due[0].provider_name, models, trigger)


def _request(
    connection_id: str, provider: str, models: list[ModelSyncRequest], trigger: Trigger,
    batch_id: str | None = None, record_events: bool | None = None,
) -> SyncRequested:
    """`batch_id`: the one the connections service chose for an initial sync, else a new one.
    `record_events`: an initial sync's opt-in to per-record events, sent with the request so
    its pages carry it (the records service may see them before this `connection.changed`)."""
    return SyncRequested(
        batch_id=batch_id or str(uuid7()), connection_id=connection_id, provider_name=provider,
        trigger=trigger, is_initial_sync=trigger == "initial", models=models,
        record_events=record_events,
    )


