"""The executor's handlers on a fake unit of work: no broker, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from ferry_contracts import ConnectionChanged, Envelope, ModelSyncConfig, SyncRequested
from ferry_contracts.sync import ModelSyncRequest, SyncCompleted, SyncCounts, SyncJobChanged
from ferry_executor import handlers
from ferry_executor.domain import KnownConnection, ManualSync
from ferry_executor.settings import Settings
from ferry_kit import errors
from ferry_kit.dispatch import consumer_handlers, use_case
from ferry_kit.fake_uow import FakeUnitOfWork

from .fakes import FakeConnections, FakeRepository, job

CONNECTED = KnownConnection("c1", "CONNECTED", "sandbox", "p1", ("CONTACTS", "INVOICES"), 3)


class Executor:
    """The handlers wired as the bootstrap wires them, on fakes."""

    def __init__(self) -> None:
        self.repo = FakeRepository()
        self.uow = FakeUnitOfWork(self.repo)
        self.connections = FakeConnections()
        deps = {"settings": Settings(internal_token="t" * 16), "connections": self.connections}
        self.handle = consumer_handlers(handlers.HANDLERS, self.uow, deps)
        self.request_sync = use_case(handlers.request_sync, self.uow, deps)
        self.cancel = use_case(handlers.cancel_job, self.uow, deps)

    async def deliver(self, topic: str, payload, project_id: str = "p1") -> Envelope:
        event = Envelope.of(payload, project_id=project_id, connection_id="c1")
        await self.handle[topic]([event])
        return event

    def changes(self) -> list[tuple[str, str, str | None]]:
        return [
            (p.job.data_model, p.job.status, p.previous_status)
            for p in self.uow.payloads
            if isinstance(p, SyncJobChanged)
        ]


@pytest.fixture
def executor() -> Executor:
    return Executor()


def _requested(*models: ModelSyncRequest, batch: str = "b-1") -> SyncRequested:
    return SyncRequested(
        batch_id=batch,
        connection_id="c1",
        provider_name="sandbox",
        trigger="schedule",
        models=list(models),
    )


async def test_a_sync_request_queues_one_job_per_model_and_says_so(executor):
    await executor.deliver(
        "sync.requested",
        _requested(
            ModelSyncRequest(data_model="contacts"), ModelSyncRequest(data_model="INVOICES")
        ),
    )
    jobs = list(executor.repo.jobs_by_id.values())
    assert sorted(j.data_model for j in jobs) == ["CONTACTS", "INVOICES"]
    assert {j.batch_id for j in jobs} == {"b-1"} and all(j.status == "queued" for j in jobs)
    assert sorted(executor.changes()) == [
        ("CONTACTS", "queued", None),
        ("INVOICES", "queued", None),
    ]


async def test_a_request_for_a_model_with_a_waiting_job_widens_that_job(executor):
    await executor.deliver("sync.requested", _requested(ModelSyncRequest(data_model="CONTACTS")))
    await executor.deliver(
        "sync.requested",
        _requested(ModelSyncRequest(data_model="CONTACTS", full_sync=True), batch="b-2"),
    )
    [only] = executor.repo.jobs_by_id.values()
    assert only.full_sync and only.batch_id == "b-1"
    assert executor.changes() == [("CONTACTS", "queued", None)]  # nothing new was queued


def _initial(record_events: bool | None, batch: str = "b-0") -> SyncRequested:
    return SyncRequested(
        batch_id=batch, connection_id="c1", provider_name="sandbox", trigger="initial",
        is_initial_sync=True, record_events=record_events,
        models=[ModelSyncRequest(data_model="CONTACTS", full_sync=True)],
    )


@pytest.mark.parametrize("wanted", [True, False])
async def test_an_initial_sync_request_stores_its_say_on_record_events_on_the_job(
    executor, wanted
):
    await executor.deliver("sync.requested", _initial(wanted))
    [only] = executor.repo.jobs_by_id.values()
    assert only.is_initial_sync and only.record_events is wanted


async def test_a_waiting_job_keeps_its_say_on_record_events_unless_a_request_gives_one(executor):
    await executor.deliver("sync.requested", _requested(ModelSyncRequest(data_model="CONTACTS")))
    [only] = executor.repo.jobs_by_id.values()
    assert only.record_events is None  # a scheduled sync says nothing
    await executor.deliver("sync.requested", _initial(True))
    [only] = executor.repo.jobs_by_id.values()
    assert only.is_initial_sync and only.record_events is True
    await executor.deliver("sync.requested", _requested(
        ModelSyncRequest(data_model="CONTACTS"), batch="b-3"))
    [only] = executor.repo.jobs_by_id.values()
    assert only.record_events is True


async def test_a_redelivered_sync_request_has_no_second_effect(executor):
    event = await executor.deliver(
        "sync.requested", _requested(ModelSyncRequest(data_model="CONTACTS"))
    )
    await executor.handle["sync.requested"]([event])
    assert len(executor.repo.jobs_by_id) == 1 and len(executor.uow.committed) == 1


async def test_sync_completed_ends_the_job_and_moves_the_high_water_mark(executor):
    executor.repo.add(job(status="running", phase="finishing"))
    mark = datetime(2026, 2, 1, tzinfo=UTC)
    await executor.deliver(
        "sync.completed",
        SyncCompleted(
            job_id="job_1",
            connection_id="c1",
            provider_name="sandbox",
            data_model="CONTACTS",
            status="complete",
            counts=SyncCounts(fetched=3, created=3),
            high_water_mark=mark,
        ),
    )
    done = executor.repo.jobs_by_id["job_1"]
    assert done.status == "complete" and done.counts["created"] == 3 and done.completed_at
    assert executor.repo.outcomes[("c1", "CONTACTS")].high_water_mark == mark
    assert executor.changes() == [("CONTACTS", "complete", "running")]


async def test_sync_completed_for_a_cancelled_job_only_fills_in_its_counts(executor):
    executor.repo.add(job(status="cancelled", phase="done"))
    await executor.deliver(
        "sync.completed",
        SyncCompleted(
            job_id="job_1",
            connection_id="c1",
            provider_name="sandbox",
            data_model="CONTACTS",
            status="cancelled",
            counts=SyncCounts(fetched=7),
        ),
    )
    assert executor.repo.jobs_by_id["job_1"].status == "cancelled"
    assert executor.repo.jobs_by_id["job_1"].counts["fetched"] == 7 and executor.changes() == []


def _changed(status: str, version: int, config=None) -> ConnectionChanged:
    return ConnectionChanged(
        connection_id="c1",
        user_id="u",
        provider_name="sandbox",
        status=status,
        version=version,
        sync_config=config
        or [
            ModelSyncConfig(data_model="contacts", access="READ_WRITE"),
            ModelSyncConfig(data_model="FILES", access="WRITE"),
        ],
    )


async def test_a_connection_that_loses_its_authorization_stops_its_jobs(executor):
    executor.repo.add(job(id="job_w", status="queued"))
    executor.repo.add(job(id="job_r", data_model="INVOICES", status="running"))
    await executor.deliver("connection.changed", _changed("AUTH_ERROR", 4))
    assert executor.repo.jobs_by_id["job_w"].status == "cancelled"
    assert executor.repo.jobs_by_id["job_r"].cancel_requested  # stops at its next page
    assert executor.changes() == [("CONTACTS", "cancelled", "queued")]
    assert executor.repo.connections["c1"].status == "AUTH_ERROR"


async def test_a_new_connections_late_connecting_status_leaves_its_initial_sync_alone(executor):
    # AUTH_REQUIRED/CONNECTING travel on connection.changed, the sync its CONNECTED caused on
    # sync.requested: after a consumer hand-over the older status can arrive after the jobs.
    executor.repo.add(job(id="job_w", status="queued"))
    await executor.deliver("connection.changed", _changed("CONNECTING", 2))
    await executor.deliver("connection.changed", _changed("AUTH_REQUIRED", 1))
    assert executor.repo.jobs_by_id["job_w"].status == "queued"
    assert executor.changes() == []
    await executor.deliver("connection.changed", _changed("CONNECTED", 3))
    await executor.deliver("connection.changed", _changed("AUTH_ERROR", 2))  # stale: older
    assert executor.repo.jobs_by_id["job_w"].status == "queued"


async def test_the_executor_keeps_the_newest_state_and_readable_models_of_a_connection(executor):
    await executor.deliver("connection.changed", _changed("CONNECTED", 5))
    await executor.deliver("connection.changed", _changed("CONNECTING", 4))  # late, older
    known = executor.repo.connections["c1"]
    assert (known.status, known.readable, known.version) == ("CONNECTED", ("CONTACTS",), 5)
    await executor.deliver("connection.changed", _changed("DELETED", 6))
    assert "c1" not in executor.repo.connections


async def test_a_manual_sync_of_a_connected_connection_queues_one_off_jobs(executor):
    executor.repo.connections["c1"] = CONNECTED
    jobs = await executor.request_sync(ManualSync("c1", "p1", True, None))
    assert [(j.data_model, j.full_sync, j.is_one_off) for j in jobs] == [
        ("CONTACTS", True, True),
        ("INVOICES", True, True),
    ]
    assert len({j.batch_id for j in jobs}) == 1 and executor.connections.asked == 0


async def test_a_manual_sync_honours_sync_from_and_any_letter_case(executor):
    executor.repo.connections["c1"] = CONNECTED
    [one] = await executor.request_sync(
        ManualSync("c1", "p1", False, [("contacts", date(2026, 3, 1))])
    )
    assert one.data_model == "CONTACTS" and one.sync_from == date(2026, 3, 1)


async def test_a_manual_sync_of_a_connection_not_connected_is_a_conflict(executor):
    executor.repo.connections["c1"] = KnownConnection(
        "c1", "AUTH_ERROR", "sandbox", "p1", ("CONTACTS",), 3
    )
    executor.connections.known["c1"] = executor.repo.connections["c1"]
    with pytest.raises(errors.ApiError) as refused:
        await executor.request_sync(ManualSync("c1", "p1", False, None))
    assert (refused.value.status, refused.value.code) == (409, "connection_not_connected")
    assert refused.value.message.endswith("current status is AUTH_ERROR")
    assert refused.value.details == [{"field": "status", "message": "AUTH_ERROR"}]
    assert executor.repo.jobs_by_id == {} and executor.uow.committed == []


async def test_a_manual_sync_of_models_not_enabled_names_each_of_them(executor):
    executor.repo.connections["c1"] = CONNECTED
    executor.connections.known["c1"] = CONNECTED
    with pytest.raises(errors.ApiError) as refused:
        await executor.request_sync(
            ManualSync("c1", "p1", False, [("contacts", None), ("files", None)])
        )
    assert refused.value.status == 422 and refused.value.code == "validation_error"
    assert refused.value.details == [
        {
            "field": "data_models_to_sync[1].data_model",
            "message": "FILES is not enabled for reading on this connection",
        }
    ]


async def test_a_manual_sync_of_a_connection_with_nothing_readable_is_refused(executor):
    nothing = KnownConnection("c1", "CONNECTED", "sandbox", "p1", (), 3)
    executor.repo.connections["c1"] = executor.connections.known["c1"] = nothing
    with pytest.raises(errors.ApiError) as refused:
        await executor.request_sync(ManualSync("c1", "p1", False, None))
    assert refused.value.status == 422
    assert refused.value.details == [
        {"field": "data_models_to_sync", "message": "no enabled data model"}
    ]


async def test_a_manual_sync_just_after_connecting_asks_the_connections_service(executor):
    """The executor's copy may lag: a connection it has not seen, or seen CONNECTING."""
    executor.connections.known["c1"] = CONNECTED
    assert len(await executor.request_sync(ManualSync("c1", "p1", False, None))) == 2
    executor.repo.connections["c1"] = KnownConnection("c1", "CONNECTING", "sandbox", "p1", (), 1)
    await executor.request_sync(ManualSync("c1", "p1", False, [("INVOICES", None)]))
    assert executor.connections.asked == 2


async def test_a_manual_sync_of_a_connection_that_does_not_exist_is_not_found(executor):
    with pytest.raises(errors.NotFound):
        await executor.request_sync(ManualSync("c1", "p1", False, None))


async def test_cancelling_a_waiting_job_ends_it_and_a_running_one_is_asked_to_stop(executor):
    executor.repo.add(job(id="job_w"))
    executor.repo.add(job(id="job_r", data_model="INVOICES", status="running"))
    assert (await executor.cancel("job_w")).status == "cancelled"
    running = await executor.cancel("job_r")
    assert running.status == "running" and running.cancel_requested
    assert executor.changes() == [("CONTACTS", "cancelled", "queued")]


async def test_cancelling_an_ended_or_unknown_job_is_refused(executor):
    executor.repo.add(job(status="complete"))
    with pytest.raises(errors.Conflict) as refused:
        await executor.cancel("job_1")
    assert refused.value.code == "invalid_transition"
    with pytest.raises(errors.NotFound):
        await executor.cancel("job_nope")
