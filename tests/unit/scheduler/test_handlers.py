"""The scheduler's handlers on a fake unit of work: no broker, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ferry_contracts import ConnectionChanged, Envelope, ModelSyncConfig, SyncRequested
from ferry_kit.clock import FixedClock
from ferry_kit.dispatch import command, consumer_handlers
from ferry_kit.fake_uow import FakeUnitOfWork
from ferry_scheduler.handlers import HANDLERS, fire_due
from ferry_scheduler.settings import Settings

from .fakes import FakeRepository

CONFIG = [
    ModelSyncConfig(data_model="contacts", frequency="HOURLY", access="READ"),
    ModelSyncConfig(data_model="INVOICES", frequency="DAILY", access="READ_WRITE"),
    ModelSyncConfig(data_model="FILES", frequency="DAILY", access="WRITE"),
]
NARROWED = [ModelSyncConfig(data_model="CONTACTS", frequency="CUSTOM", interval_minutes=15)]


class Scheduler:
    """The handlers wired as the kit wires them, on fakes."""

    def __init__(self) -> None:
        self.repo = FakeRepository()
        self.uow = FakeUnitOfWork(self.repo)
        self.clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
        deps = {"clock": self.clock, "settings": Settings(internal_token="t" * 16)}
        self.handle = consumer_handlers(HANDLERS, self.uow, deps)["connection.changed"]
        self.fire = command(fire_due, self.uow, deps)

    async def changed(self, status: str, version: int, previous: str | None = None,
                      config: list[ModelSyncConfig] = CONFIG,
                      record_events: bool = False) -> Envelope[ConnectionChanged]:
        event = Envelope.of(ConnectionChanged(
            connection_id="c1", user_id="u", provider_name="sandbox", status=status,
            previous_status=previous, sync_config=config, version=version,
            initial_sync_record_events=record_events,
        ), project_id="p1", connection_id="c1")
        await self.handle([event])
        return event

    def requests(self) -> list[SyncRequested]:
        return self.uow.payloads

    async def schedules(self) -> dict[str, tuple[int, bool]]:
        return {s.data_model: (s.interval_minutes, s.paused)
                for s in await self.repo.schedules("c1")}


@pytest.fixture
def scheduler() -> Scheduler:
    return Scheduler()


async def test_a_new_connection_gets_paused_schedules_for_its_readable_models(scheduler):
    await scheduler.changed("AUTH_REQUIRED", 1)
    assert await scheduler.schedules() == {"CONTACTS": (60, True), "INVOICES": (1440, True)}
    assert scheduler.requests() == []


async def test_connecting_requests_one_initial_full_sync_of_the_readable_models(scheduler):
    await scheduler.changed("AUTH_REQUIRED", 1)
    await scheduler.changed("CONNECTED", 2, "CONNECTING")
    [initial] = scheduler.requests()
    assert initial.trigger == "initial" and initial.is_initial_sync
    assert [(m.data_model, m.full_sync) for m in initial.models] == [
        ("CONTACTS", True), ("INVOICES", True)]
    assert scheduler.uow.committed[0].project_id == "p1"
    assert scheduler.uow.committed[0].connection_id == "c1"
    await scheduler.changed("CONNECTED", 3, "CONNECTED")
    assert len(scheduler.requests()) == 1, "the initial sync is requested once"


@pytest.mark.parametrize("wanted", [True, False])
async def test_the_initial_sync_request_says_whether_the_project_wants_record_events(
    scheduler, wanted
):
    await scheduler.changed("AUTH_REQUIRED", 1, record_events=wanted)
    await scheduler.changed("CONNECTED", 2, "CONNECTING", record_events=wanted)
    [initial] = scheduler.requests()
    assert initial.is_initial_sync and initial.record_events is wanted


async def test_requests_after_the_initial_sync_leave_record_events_unsaid(scheduler):
    await scheduler.changed("CONNECTED", 1, "CONNECTING", record_events=True)
    await scheduler.changed("AUTH_ERROR", 2, "CONNECTED", record_events=True)
    await scheduler.changed("CONNECTED", 3, "AUTH_ERROR", record_events=True)
    initial, catch_up = scheduler.requests()
    assert initial.record_events is True
    assert catch_up.trigger == "schedule" and catch_up.record_events is None


async def test_a_config_change_drops_disabled_models_and_reschedules_changed_intervals(scheduler):
    await scheduler.changed("CONNECTED", 1, "CONNECTING")
    await scheduler.changed("CONNECTED", 2, "CONNECTED", config=NARROWED)
    assert await scheduler.schedules() == {"CONTACTS": (15, False)}


async def test_a_stale_update_changes_nothing(scheduler):
    await scheduler.changed("CONNECTED", 5, "CONNECTING")
    await scheduler.changed("DISCONNECTED", 4, "CONNECTED")
    assert scheduler.repo.connections["c1"].status == "CONNECTED"
    assert all(not paused for _, paused in (await scheduler.schedules()).values())


async def test_reconnecting_after_an_auth_error_catches_up_without_a_second_initial_sync(scheduler):
    await scheduler.changed("CONNECTED", 1, "CONNECTING")
    await scheduler.changed("AUTH_ERROR", 2, "CONNECTED")
    assert all(paused for _, paused in (await scheduler.schedules()).values())
    await scheduler.changed("CONNECTED", 3, "AUTH_ERROR", config=NARROWED)
    initial, catch_up = scheduler.requests()
    assert catch_up.trigger == "schedule" and not catch_up.is_initial_sync
    assert [m.data_model for m in catch_up.models] == ["CONTACTS"]


async def test_a_deleted_connection_loses_its_schedules(scheduler):
    await scheduler.changed("CONNECTED", 1, "CONNECTING")
    await scheduler.changed("DELETED", 2, "CONNECTED")
    assert await scheduler.schedules() == {} and "c1" not in scheduler.repo.connections


async def test_a_redelivered_event_has_no_second_effect(scheduler):
    event = await scheduler.changed("CONNECTED", 1, "CONNECTING")
    await scheduler.handle([event])
    assert len(scheduler.requests()) == 1


async def test_due_schedules_fire_once_per_connection_and_kind_then_wait_their_interval(scheduler):
    await scheduler.changed("CONNECTED", 1, "CONNECTING")
    assert await scheduler.fire() == 0
    scheduler.clock.advance(hours=1)
    assert await scheduler.fire() == 1  # CONTACTS, hourly
    scheduler.clock.advance(hours=23)
    assert await scheduler.fire() == 2  # both, and the daily full sync is due
    _, hourly, full = scheduler.requests()
    assert hourly.trigger == "schedule" and [m.data_model for m in hourly.models] == ["CONTACTS"]
    assert full.trigger == "full_schedule" and all(m.full_sync for m in full.models)
    assert [m.data_model for m in full.models] == ["CONTACTS", "INVOICES"]
    assert await scheduler.fire() == 0
