"""A run's pages: what each tells the records service about the job that fetched it."""

from __future__ import annotations

from typing import Any

import pytest
from ferry_connectors import Page, get_definition
from ferry_contracts.records import RecordsEnd, RecordsPage
from ferry_executor.job_run import Flags, JobRun, RunDeps
from ferry_executor.settings import Settings
from ferry_kit.fake_uow import FakeUnitOfWork

from .fakes import FakeRepository, job


async def _run_two_pages(**fields: Any) -> FakeUnitOfWork[FakeRepository]:
    """A two-page run of a job with these fields; what it committed is in `committed`."""
    repo = FakeRepository()
    uow = FakeUnitOfWork(repo)
    running = repo.add(job(status="running", lease_owner="w1", **fields))
    deps = RunDeps(settings=Settings(internal_token="t" * 16), uow=uow, credentials=None,
                   budget=None, http=None, producer=None, owner="w1")  # type: ignore[arg-type]
    run = JobRun(deps, running, Flags(), state={"pages": 0, "fetched": 0})
    model = get_definition("sandbox").models["CONTACTS"]  # type: ignore[union-attr]
    await run.save_page(Page([{"id": "1"}], {"page": 2}, ids=["1"]), None, model)
    await run.save_page(Page([{"id": "2"}], None, ids=["2"]), None, model)
    return uow


async def _pages_of(**fields: Any) -> list[RecordsPage]:
    """The pages a two-page run of a job with these fields sends (records.fetched)."""
    uow = await _run_two_pages(**fields)
    items = [e.data.item for e in uow.committed if e.type == "records.fetched"]
    assert isinstance(items[-1], RecordsEnd)  # the run did end: every page is in
    return [i for i in items if isinstance(i, RecordsPage)]


@pytest.mark.parametrize("wanted", [True, False])
async def test_every_page_of_an_initial_sync_carries_the_projects_say_on_record_events(wanted):
    pages = await _pages_of(is_initial_sync=True, trigger="initial", record_events=wanted)
    assert [p.page for p in pages] == [1, 2]
    assert all(p.is_initial_sync and p.record_events is wanted for p in pages)


async def test_pages_of_a_job_whose_request_said_nothing_say_nothing_either():
    pages = await _pages_of(is_initial_sync=True, trigger="initial", record_events=None)
    assert len(pages) == 2 and all(p.record_events is None for p in pages)


async def test_the_last_page_shows_the_jobs_progress_with_every_page_fetched():
    uow = await _run_two_pages(is_initial_sync=True, trigger="initial")
    [changed] = [e.data for e in uow.committed if e.type == "sync.job.changed"]
    assert changed.job.status == "running" and changed.previous_status == "running"
    assert changed.job.pagination_state["fetched"] == 2
    assert changed.job.pagination_state["pages"] == 2
