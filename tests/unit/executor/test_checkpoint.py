"""A run's checkpoints: each after its page's acknowledgement, in page order, while the next
page is already on its way to the broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from ferry_contracts import Envelope
from ferry_contracts.records import RecordsFetched, RecordsPage
from ferry_executor.checkpoint import Checkpoints, LostLease
from ferry_executor.domain import Job
from ferry_kit.fake_uow import FakeUnitOfWork

from .fakes import job


class Producer:
    """The broker's acknowledgements, given by the test one page (one producer batch) at a
    time."""

    def __init__(self) -> None:
        self.acks: list[asyncio.Future[None]] = []
        self.sent: list[int] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def _partition(self, *args: Any) -> int:
        return 0

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, *,
                         partition: int) -> asyncio.Future[None]:
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        self.sent.append(len(self.acks))
        return ack


class _Batch:
    def append(self, **message: Any) -> bool:
        return True


class Jobs:
    """The job's row: the checkpoints committed, in order."""

    def __init__(self) -> None:
        self.committed: list[int] = []
        self.held = True

    async def checkpoint(self, job_id: str, owner: str, state: dict[str, Any],
                         lease_seconds: float) -> bool:
        if self.held:
            self.committed.append(state["pages"])
        return self.held

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Jobs]:
        yield self


def _page(n: int) -> list[Envelope[Any]]:
    item = RecordsPage(job_id="j1", data_model="contacts", page=n, records=[{"id": str(n)}])
    return [Envelope.of(RecordsFetched(item=item), connection_id="c1")]


def _checkpoints(jobs: Jobs, producer: Producer) -> Checkpoints:
    return Checkpoints(jobs, producer, "j1", "me", 15.0)  # type: ignore[arg-type]


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_checkpoint_waits_for_its_page_and_the_next_page_leaves_meanwhile():
    jobs, producer = Jobs(), Producer()
    checkpoints = _checkpoints(jobs, producer)
    state = {"pages": 1}
    await checkpoints.save(_page(1), state)
    state["pages"] = 2  # the run goes on with its state; page 1's checkpoint keeps its own
    await _settle()
    assert jobs.committed == []  # page 1 not acknowledged yet
    second = asyncio.create_task(checkpoints.save(_page(2), state))
    await _settle()
    assert producer.sent == [1, 2] and not second.done()  # page 2 is out, page 1 still open
    producer.acks[1].set_result(None)  # page 2 first: its checkpoint still waits for page 1's
    await _settle()
    assert jobs.committed == []
    producer.acks[0].set_result(None)
    await second
    await _settle()
    assert jobs.committed == [1, 2]
    await checkpoints.drain()
    assert jobs.committed == [1, 2]


async def test_drain_returns_once_every_saved_page_is_checkpointed():
    jobs, producer = Jobs(), Producer()
    checkpoints = _checkpoints(jobs, producer)
    await checkpoints.save(_page(1), {"pages": 1})
    drained = asyncio.create_task(checkpoints.drain())
    await _settle()
    assert not drained.done()
    producer.acks[0].set_result(None)
    await drained
    assert jobs.committed == [1]


async def test_a_lost_lease_stops_the_run_at_its_next_page():
    jobs, producer = Jobs(), Producer()
    checkpoints = _checkpoints(jobs, producer)
    jobs.held = False
    await checkpoints.save(_page(1), {"pages": 1})
    await _settle()
    producer.acks[0].set_result(None)
    with pytest.raises(LostLease):
        await checkpoints.save(_page(2), {"pages": 2})
    await checkpoints.abandon()


async def test_a_page_the_broker_refused_is_never_checkpointed():
    jobs, producer = Jobs(), Producer()
    checkpoints = _checkpoints(jobs, producer)
    await checkpoints.save(_page(1), {"pages": 1})
    await _settle()
    producer.acks[0].set_exception(ConnectionError("broker gone"))
    with pytest.raises(ConnectionError):
        await checkpoints.drain()
    assert jobs.committed == []


class ShownJobs(Jobs):
    """The job's row, with the units of work a checkpoint shown on `sync.job.changed` runs in."""

    def __init__(self) -> None:
        super().__init__()
        self.unit = FakeUnitOfWork(self)
        self.version = 0

    def __call__(self) -> FakeUnitOfWork[ShownJobs]:
        return self.unit

    async def checkpoint_job(self, job_id: str, owner: str, state: dict[str, Any],
                             lease_seconds: float) -> Job | None:
        if not await self.checkpoint(job_id, owner, state, lease_seconds):
            return None
        self.version += 1
        return job(id=job_id, status="running", pagination_state=dict(state),
                   counts={"fetched": state["fetched"]}, version=self.version)


async def test_the_jobs_progress_is_shown_at_most_once_a_second_with_its_checkpoint():
    jobs, producer, now = ShownJobs(), Producer(), [0.0]
    checkpoints = Checkpoints(jobs, producer, "j1", "me", 15.0,  # type: ignore[arg-type]
                              progress_seconds=1.0, clock=lambda: now[0])
    for n, at in enumerate((0.5, 1.2, 1.8, 2.5, 2.6), start=1):
        now[0] = at
        await checkpoints.save(_page(n), {"pages": n, "fetched": 100 * n})
        await _settle()
        producer.acks[-1].set_result(None)
        await checkpoints.drain()
    assert jobs.committed == [1, 2, 3, 4, 5]  # every page checkpointed
    shown = [e.data for e in jobs.unit.committed]
    assert [c.job.pagination_state["fetched"] for c in shown] == [200, 400]
    assert [c.version for c in shown] == [1, 2]
    assert all(c.job.status == "running" and c.previous_status == "running" for c in shown)


async def test_a_lost_lease_is_seen_by_a_shown_checkpoint_too():
    jobs, producer = ShownJobs(), Producer()
    checkpoints = Checkpoints(jobs, producer, "j1", "me", 15.0,  # type: ignore[arg-type]
                              progress_seconds=1.0, clock=lambda: 5.0)
    jobs.held = False
    await checkpoints.save(_page(1), {"pages": 1, "fetched": 1})
    await _settle()
    producer.acks[0].set_result(None)
    with pytest.raises(LostLease):
        await checkpoints.drain()
    assert jobs.unit.committed == []
