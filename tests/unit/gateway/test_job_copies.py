"""`GET /v1/syncs/{id}` from the gateway's copy of the job: when it answers alone, when it asks
the executor, and that a copy says exactly what the executor would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from ferry_contracts import Envelope
from ferry_contracts.internal.executor import JobOut
from ferry_contracts.sync import SyncCounts, SyncJob, SyncJobChanged
from ferry_gateway.api import create_api
from ferry_gateway.domain import JobCopy, changed_job, job_copy
from ferry_gateway.handlers import on_sync_job_changed
from ferry_gateway.jobcache import READ_SECONDS, JobBoard, RecentJobs
from ferry_gateway.upstream import Upstreams
from ferry_kit.clock import FixedClock
from ferry_kit.fake_uow import FakeUnitOfWork

from .fakes import FakeJobCopies
from .test_public_input import HOST, PROJECT, FakeProjects, send

JOB = "job_" + "1" * 32
CONNECTION = "con_" + "2" * 32
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _job(status: str = "running", fetched: int = 300) -> SyncJob:
    return SyncJob(id=JOB, connection_id=CONNECTION, data_model="CONTACTS",
                   model_id="sandbox.CONTACTS", status=status, attempt=1,  # type: ignore[arg-type]
                   created_at=NOW - timedelta(minutes=1), started_at=NOW - timedelta(seconds=50),
                   pagination_state={"pages": 3, "fetched": fetched},
                   counts=SyncCounts(fetched=fetched))


def _executor_json(job: SyncJob, version: int, project: str | None = PROJECT.id) -> dict:
    """What the executor answers for a job (`GET /internal/syncs/{id}`)."""
    return {**job.model_dump(mode="json"), "project_id": project, "version": version}


class Executor:
    def __init__(self, job: SyncJob, version: int) -> None:
        self.job, self.version = job, version
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(200, json=self.job.model_dump(mode="json"))
        return httpx.Response(200, json=_executor_json(self.job, self.version))


def _app(executor: Executor, copies: FakeJobCopies, clock: FixedClock) -> Any:
    app = create_api(max_body_bytes=64 * 1024, write_back_bytes=16 * 1024)
    client = httpx.AsyncClient(base_url="http://internal", transport=httpx.MockTransport(executor))
    none = httpx.AsyncClient(base_url="http://internal",
                             transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    app.state.upstreams = Upstreams(none, none, client, none, none)
    app.state.projects = FakeProjects()
    app.state.job_board = JobBoard(copies, clock, 5.0)  # type: ignore[arg-type]
    app.state.settings = type("S", (), {"public_host": HOST,
                                        "admin_token": "admin-token-for-tests-0123"})()
    return app


def _copy(job: SyncJob, version: int, seen_at: datetime, project: str = PROJECT.id) -> JobCopy:
    return job_copy(changed_job(job, project, version), seen_at)


async def test_a_fresh_copy_answers_without_asking_the_executor():
    copies, executor = FakeJobCopies(), Executor(_job(fetched=999), 9)
    await copies.save(_copy(_job(fetched=300), 4, NOW - timedelta(seconds=2)))
    status, body = await send(_app(executor, copies, FixedClock(NOW)), "GET", f"/v1/syncs/{JOB}")
    assert status == 200 and executor.calls == []
    assert body["counts"]["fetched"] == 300 and "version" not in body


async def test_a_copy_the_executor_said_too_long_ago_is_asked_again_and_kept():
    copies, executor = FakeJobCopies(), Executor(_job(fetched=999), 9)
    await copies.save(_copy(_job(fetched=300), 4, NOW - timedelta(seconds=6)))
    app = _app(executor, copies, FixedClock(NOW))
    status, body = await send(app, "GET", f"/v1/syncs/{JOB}")
    assert status == 200 and body["counts"]["fetched"] == 999
    assert executor.calls == [f"GET /internal/syncs/{JOB}"]
    kept = copies.copies[JOB]
    assert (kept.version, kept.seen_at) == (9, NOW)
    await send(app, "GET", f"/v1/syncs/{JOB}")  # the answer is the copy now
    assert len(executor.calls) == 1


async def test_a_job_without_a_copy_is_asked_of_the_executor():
    copies, executor = FakeJobCopies(), Executor(_job(), 1)
    status, body = await send(_app(executor, copies, FixedClock(NOW)), "GET", f"/v1/syncs/{JOB}")
    assert status == 200 and body["id"] == JOB and executor.calls
    assert copies.copies[JOB].version == 1


async def test_another_projects_key_does_not_see_a_copied_job():
    copies, executor = FakeJobCopies(), Executor(_job(), 1)
    await copies.save(_copy(_job(), 4, NOW, project="proj_fedcba9876543210"))
    status, body = await send(_app(executor, copies, FixedClock(NOW)), "GET", f"/v1/syncs/{JOB}")
    assert (status, body["error"]["code"]) == (404, "not_found") and executor.calls == []


async def test_after_a_cancel_through_the_gateway_the_next_poll_asks_the_executor():
    copies, executor = FakeJobCopies(), Executor(_job(status="cancelled"), 5)
    await copies.save(_copy(_job(), 4, NOW))
    app = _app(executor, copies, FixedClock(NOW))
    status, _ = await send(app, "POST", f"/v1/syncs/{JOB}/cancel")
    assert status == 200
    status, body = await send(app, "GET", f"/v1/syncs/{JOB}")
    assert body["status"] == "cancelled"
    assert executor.calls == [f"POST /internal/syncs/{JOB}/cancel", f"GET /internal/syncs/{JOB}"]


@pytest.mark.parametrize("project", [PROJECT.id, None])
def test_a_copy_from_an_event_says_exactly_what_the_executors_answer_says(project):
    job = _job()
    from_event = _copy(job, 7, NOW, project=project)  # type: ignore[arg-type]
    answered = job_copy(JobOut.model_validate(_executor_json(job, 7, project)), NOW)
    assert from_event.body == answered.body  # the same keys, in the same order
    assert list(orjson.loads(from_event.body)) == list(JobOut.model_validate(
        _executor_json(job, 7, project)).public())


async def test_an_event_is_kept_as_of_when_the_executor_said_it():
    copies = FakeJobCopies()
    uow = FakeUnitOfWork(copies)
    said = Envelope.of(SyncJobChanged(job=_job(fetched=500), previous_status="running",
                                      version=12), project_id=PROJECT.id,
                       connection_id=CONNECTION)
    recent = RecentJobs(5.0)
    async with uow:
        await on_sync_job_changed(said, uow, recent)
        await uow.commit()
    kept = copies.copies[JOB]
    assert kept.version == 12 and kept.seen_at == said.occurred_at
    assert orjson.loads(kept.body)["counts"]["fetched"] == 500
    older = Envelope.of(SyncJobChanged(job=_job(fetched=100), version=11),
                        project_id=PROJECT.id, connection_id=CONNECTION)
    async with uow:
        await on_sync_job_changed(older, uow, recent)  # late: neither store nor process keep it
        await uow.commit()
    assert copies.copies[JOB] == kept
    assert recent.get(JOB, said.occurred_at + timedelta(seconds=4.9)) == kept
    assert recent.get(JOB, said.occurred_at + timedelta(seconds=5.1)) is None


async def test_an_event_without_a_version_is_not_kept():
    copies = FakeJobCopies()
    uow = FakeUnitOfWork(copies)
    said = Envelope.of(SyncJobChanged(job=_job()), project_id=PROJECT.id,
                       connection_id=CONNECTION)
    recent = RecentJobs(5.0)
    async with uow:
        await on_sync_job_changed(said, uow, recent)
        await uow.commit()
    assert copies.copies == {} and recent.get(JOB, said.occurred_at) is None


async def test_a_copy_read_from_the_store_is_trusted_in_the_process_only_a_moment():
    copies, executor = FakeJobCopies(), Executor(_job(fetched=999), 9)
    await copies.save(_copy(_job(fetched=300), 4, NOW - timedelta(seconds=1)))
    clock = FixedClock(NOW)
    app = _app(executor, copies, clock)
    await send(app, "GET", f"/v1/syncs/{JOB}")
    copies.copies[JOB] = _copy(_job(fetched=400), 5, NOW)  # stored meanwhile by another process
    status, body = await send(app, "GET", f"/v1/syncs/{JOB}")
    assert body["counts"]["fetched"] == 300  # this process's copy, read a moment ago
    clock.advance(seconds=READ_SECONDS + 0.01)
    status, body = await send(app, "GET", f"/v1/syncs/{JOB}")
    assert body["counts"]["fetched"] == 400 and executor.calls == []


def test_the_process_keeps_a_newer_copy_over_an_older_one_and_forgets_a_cancelled_job():
    recent = RecentJobs(5.0)
    recent.told(_copy(_job(fetched=400), 5, NOW))
    recent.read(_copy(_job(fetched=300), 4, NOW), NOW)
    assert recent.get(JOB, NOW).version == 5  # type: ignore[union-attr]
    recent.forget(JOB)
    assert recent.get(JOB, NOW) is None
