"""The sync status of each model, derived by the scheduler from the events that say it."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from ferry_contracts import (
    ConnectionChanged,
    Envelope,
    ModelSyncConfig,
    SyncCompleted,
    SyncJob,
    SyncJobChanged,
)
from ferry_kit.clock import FixedClock
from ferry_kit.dispatch import consumer_handlers
from ferry_kit.fake_uow import FakeUnitOfWork
from ferry_scheduler import views
from ferry_scheduler.handlers import HANDLERS
from ferry_scheduler.settings import Settings

from .fakes import FakeRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = [
    ModelSyncConfig(data_model="CONTACTS", frequency="HOURLY", access="READ"),
    ModelSyncConfig(data_model="FILES", frequency="DAILY", access="WRITE"),
]


class Scheduler:
    def __init__(self) -> None:
        self.repo = FakeRepository()
        self.uow = FakeUnitOfWork(self.repo)
        deps = {"clock": FixedClock(T0), "settings": Settings(internal_token="t" * 16)}
        self.handle = consumer_handlers(HANDLERS, self.uow, deps)

    async def connection(self, status: str, version: int, **kw: object) -> None:
        event = Envelope.of(
            ConnectionChanged(
                connection_id="c1",
                user_id="u",
                provider_name="sandbox",
                status=status,
                sync_config=CONFIG,
                version=version,
                **kw,
            ),
            project_id="p1",
            connection_id="c1",
        )
        await self.handle["connection.changed"]([event])

    async def job(self, job_id: str, status: str, minute: int, error: str | None = None) -> None:
        job = SyncJob(
            id=job_id,
            connection_id="c1",
            data_model="contacts",
            model_id="m",
            status=status,
            created_at=T0,
            modified_at=T0 + timedelta(minutes=minute),
            error=error,
        )
        event = Envelope.of(SyncJobChanged(job=job), project_id="p1", connection_id="c1")
        await self.handle["sync.job.changed"]([event])

    async def completed(self, job_id: str, status: str, minute: int, **kw: object) -> None:
        synced = T0 + timedelta(minutes=minute) if status == "complete" else None
        event = Envelope.of(
            SyncCompleted(
                job_id=job_id,
                connection_id="c1",
                provider_name="sandbox",
                data_model="CONTACTS",
                status=status,
                last_synced_at=synced,
                **kw,
            ),
            project_id="p1",
            connection_id="c1",
        )
        await self.handle["sync.completed"]([event])

    async def status(self) -> dict[str, dict[str, object]]:
        @asynccontextmanager
        async def read():
            yield self.repo

        out = await views.sync_status(read, "c1")
        return {m.data_model: m.model_dump(mode="json") for m in out.data_models}


@pytest.fixture
async def scheduler() -> Scheduler:
    s = Scheduler()
    await s.connection(
        "CONNECTED",
        1,
        previous_status="CONNECTING",
        requested_data_types=["contacts", "files", "invoices"],
    )
    return s


async def test_each_requested_model_is_listed_in_order_and_the_unsynced_ones_are_disabled(
    scheduler,
):
    status = await scheduler.status()
    assert list(status) == ["CONTACTS", "FILES", "INVOICES"]
    assert [m["status"] for m in status.values()] == ["IDLE", "DISABLED", "DISABLED"]
    assert status["CONTACTS"]["next_sync_at"] == "2026-01-01T01:00:00+00:00"
    assert status["FILES"]["next_sync_at"] is None


async def test_a_model_syncs_while_a_job_is_active_and_is_idle_once_it_completes(scheduler):
    await scheduler.job("job_1", "queued", 0)
    await scheduler.job("job_1", "running", 1)
    assert (await scheduler.status())["CONTACTS"]["status"] == "SYNCING"
    await scheduler.completed("job_1", "complete", 2)
    await scheduler.job("job_1", "complete", 3)
    contacts = (await scheduler.status())["CONTACTS"]
    assert (
        contacts["status"] == "IDLE" and contacts["last_synced_at"] == "2026-01-01T00:02:00+00:00"
    )


async def test_a_late_event_of_a_finished_job_does_not_make_it_active_again(scheduler):
    await scheduler.job("job_1", "complete", 5)
    await scheduler.job("job_1", "running", 1)
    assert (await scheduler.status())["CONTACTS"]["status"] == "IDLE"


async def test_a_waiting_job_keeps_the_model_syncing_when_the_running_one_ends(scheduler):
    await scheduler.job("job_1", "running", 1)
    await scheduler.job("job_2", "queued", 2)
    await scheduler.job("job_1", "complete", 3)
    assert (await scheduler.status())["CONTACTS"]["status"] == "SYNCING"


async def test_a_failed_sync_is_an_error_with_its_message_until_a_newer_job_completes(scheduler):
    await scheduler.completed("job_1", "failed", 1, error="auth_error: refused")
    contacts = (await scheduler.status())["CONTACTS"]
    assert contacts["status"] == "ERROR" and contacts["last_error"] == "auth_error: refused"
    await scheduler.completed("job_2", "complete", 2)
    contacts = (await scheduler.status())["CONTACTS"]
    assert contacts["status"] == "IDLE" and contacts["last_error"] is None
    await scheduler.completed("job_1", "failed", 3, error="late")  # an older job, redelivered late
    assert (await scheduler.status())["CONTACTS"]["status"] == "IDLE"


async def test_the_records_outcome_of_a_job_outranks_the_executors_timeout_of_it(scheduler):
    await scheduler.completed("job_1", "complete", 2)
    await scheduler.job("job_1", "failed", 1, error="no sync.completed within 600s")
    assert (await scheduler.status())["CONTACTS"]["status"] == "IDLE"
    await scheduler.job("job_2", "failed", 4, error="no sync.completed within 600s")
    contacts = (await scheduler.status())["CONTACTS"]
    assert contacts["status"] == "ERROR" and contacts["last_error"].startswith("no sync.completed")


async def test_held_deletions_are_counted_by_complete_full_syncs_only(scheduler):
    await scheduler.completed("job_1", "complete", 1, full_sync=True, held_deletions=60)
    await scheduler.completed("job_2", "complete", 2)
    assert (await scheduler.status())["CONTACTS"]["held_deletions"] == 60
    await scheduler.completed("job_3", "complete", 3, full_sync=True, held_deletions=0)
    assert (await scheduler.status())["CONTACTS"]["held_deletions"] == 0


async def test_a_paused_connection_shows_paused_models_without_a_next_sync(scheduler):
    await scheduler.job("job_1", "running", 1)
    await scheduler.connection(
        "AUTH_ERROR", 2, previous_status="CONNECTED", requested_data_types=["CONTACTS"]
    )
    contacts = (await scheduler.status())["CONTACTS"]
    assert contacts["status"] == "PAUSED" and contacts["next_sync_at"] is None


async def test_a_redelivered_event_has_no_second_effect_and_a_deleted_connection_has_no_status(
    scheduler,
):
    await scheduler.completed("job_1", "failed", 1, error="boom")
    assert len(scheduler.uow.processed) == 2
    await scheduler.connection("DELETED", 9)
    assert (await scheduler.status()) == {} and scheduler.repo.outcomes == {}


async def test_older_senders_without_requested_models_list_the_configured_ones():
    s = Scheduler()
    await s.connection("CONNECTED", 1, previous_status="CONNECTING")
    assert {k: v["status"] for k, v in (await s.status()).items()} == {
        "CONTACTS": "IDLE",
        "FILES": "DISABLED",
    }
