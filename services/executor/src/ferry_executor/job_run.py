"""One run of one sync job, page by page.

Each page's checkpoint commits after the page left (straight to the bus, or through the outbox
in the checkpoint's transaction), so a run that dies resumes at the next page on any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from ferry_connectors import (
    AccessDenied,
    AuthExpired,
    ConnectorClient,
    ConnectorError,
    Definition,
    Page,
    ProviderUnavailable,
    RateLimited,
    get_definition,
)
from ferry_connectors.definition import Model
from ferry_connectors.template import get_path, parse_time
from ferry_contracts import Envelope
from ferry_contracts.records import RecordsEnd, RecordsFetched, RecordsPage
from ferry_kit import outbox
from ferry_kit.uow import UnitOfWorkFactory

from . import domain
from .checkpoint import Checkpoints, LostLease
from .connector import client_for, fetch_page, paging_state, time_path
from .domain import Job
from .events import emit_changed, log_end
from .provider import Budget, Credentials, CredentialsClient, CredentialsError
from .repository import Repository
from .settings import Settings


@dataclass
class Flags:
    """Set by the run's heartbeat: the lease is lost, or a cancel was requested."""

    lost: bool = False
    cancel: bool = False


@dataclass
class RunDeps:
    """What every run of a worker shares."""

    settings: Settings
    uow: UnitOfWorkFactory[Repository]
    credentials: CredentialsClient
    budget: Budget
    http: httpx.AsyncClient
    producer: Any  # pages go to the bus from here when set (see `_save_page`)
    owner: str


@dataclass
class JobRun:
    deps: RunDeps
    job: Job
    flags: Flags
    state: dict[str, Any] = field(default_factory=dict)
    page_failures: int = 0
    refreshed: bool = False
    checkpoints: Checkpoints = field(init=False)

    def __post_init__(self) -> None:
        d = self.deps
        self.checkpoints = Checkpoints(d.uow, d.producer, self.job.id, d.owner,
                                       d.settings.executor_lease_seconds,
                                       d.settings.executor_progress_seconds)

    async def run(self) -> None:
        definition = get_definition(self.job.provider_name)
        model = definition.models.get(self.job.data_model.upper()) if definition else None
        if definition is None or model is None:
            await self._end("failed", "unknown provider or data model: "
                            f"{self.job.provider_name}/{self.job.data_model}")
            return
        self.state = dict(self.job.pagination_state or {})
        await self._fix_window(model)
        try:
            creds = await self.deps.credentials.get(self.job.connection_id)
        except CredentialsError as e:
            await self._retry_or_fail(e.message, retryable=e.retryable)
            return
        await Pages(self, definition, model, creds).run()

    async def _fix_window(self, model: Model) -> None:
        """The window is fixed once per job, so a resumed run asks for the same one."""
        if "window_end" in self.state:
            return
        job = self.job
        async with self.deps.uow.read() as repos:
            mark = await repos.high_water_mark(job.connection_id, job.data_model)
            start = domain.window_start(full_sync=job.full_sync, sync_from=job.sync_from,
                                        high_water_mark=mark)
            end = domain.utcnow()
            await repos.set_window(job.id, start, end)
        # A model without incremental support asks for everything every time.
        self.state.update(window_start=start.isoformat() if start else None,
                          window_end=end.isoformat(), pages=0, fetched=0, high_water_mark=None,
                          started_at=end.isoformat(),
                          full_sync=job.full_sync or model.incremental is None)

    def full(self) -> bool:
        """A full sync: asked for, or the model cannot ask for changes only (no incremental)."""
        return bool(self.state.get("full_sync", self.job.full_sync))

    def event(self, payload: RecordsFetched, **extra: Any) -> Envelope[Any]:
        return Envelope.of(payload, project_id=self.job.project_id,
                           connection_id=self.job.connection_id, **extra)

    def end_marker(self, status: str, error: str | None) -> Envelope[Any]:
        job, state = self.job, self.state
        return self.event(RecordsFetched(item=RecordsEnd(
            job_id=job.id, batch_id=job.batch_id, data_model=job.data_model,
            provider_name=job.provider_name, status=status,  # type: ignore[arg-type]
            full_sync=self.full(), is_initial_sync=job.is_initial_sync, sync_from=job.sync_from,
            pages=int(state.get("pages", 0)), fetched=int(state.get("fetched", 0)), error=error,
            started_at=domain.parse_time(state.get("started_at")),
            high_water_mark=domain.parse_time(state.get("high_water_mark")),
        )))

    async def save_page(self, page: Page, cutoff: datetime | None, model: Model) -> None:
        """Checkpoint a page; the last one also sends the end marker and starts finishing."""
        events = self._page_events(page, cutoff, model)
        d = self.deps
        if d.producer is not None and page.next_state is not None:
            await self.checkpoints.save(events, self.state)
            return
        await self.checkpoints.drain()
        if events and d.producer is not None:
            # Acknowledged before the checkpoint commits: a crash in between publishes the page
            # again, under the same id, when the job resumes.
            await outbox.publish_now(d.producer, events)
            events = []
        async with d.uow() as uow:
            held = await uow.repos.checkpoint(self.job.id, d.owner, self.state,
                                              d.settings.executor_lease_seconds)
            if not held:
                raise LostLease(self.job.id)
            for event in events:
                uow.emit(event)
            if page.next_state is None:
                uow.emit(self.end_marker("complete", None))
                finishing = await uow.repos.transition(
                    self.job.id, status="running", phase="finishing", owner=d.owner)
                if finishing is not None:  # its last progress (every page fetched) is shown
                    emit_changed(uow, finishing, "running")
            await uow.commit()

    def _page_events(
        self, page: Page, cutoff: datetime | None, model: Model
    ) -> list[Envelope[Any]]:
        state = self.state
        hwm = domain.parse_time(state.get("high_water_mark"))
        kept, ids = [], []
        path = time_path(model)
        for r, rid in zip(page.records, page.ids, strict=True):
            ts = parse_time(get_path(r, path)) if path else None
            if cutoff is not None and ts is not None and ts < cutoff:
                continue  # before sync_from: outside the window this job covers
            if ts is not None and (hwm is None or ts > hwm):
                hwm = ts
            kept.append(r)
            ids.append(rid)
        n = int(state.get("pages", 0)) + 1
        state.pop("cursor", None)
        state.update(paging=page.next_state, pages=n,
                     fetched=int(state.get("fetched", 0)) + len(kept),
                     high_water_mark=hwm.isoformat() if hwm else None)
        if not (kept or page.deleted_ids):
            return []
        job = self.job
        same = all(str(r.get("id")) == i for r, i in zip(kept, ids, strict=True))
        item = RecordsPage(
            job_id=job.id, data_model=job.data_model, page=n, records=[],
            ids=None if same else ids, deleted_ids=page.deleted_ids,
            is_initial_sync=job.is_initial_sync, record_events=job.record_events,
            full_sync=self.full())
        # The records are the provider's parsed JSON, handed on as they are: validating and
        # copying a thousand dicts per page (then dumping them back) cost more than the fetch.
        item = item.model_copy(update={"records": kept})
        return [self.event(RecordsFetched(item=item), id=domain.page_event_id(job.id, n))]

    async def _end(self, status: str, error: str | None) -> None:
        """End a run as failed or cancelled; the records service still reports it (sync_failed)."""
        await self.checkpoints.drain()  # the checkpoint below covers only acknowledged pages
        d = self.deps
        async with d.uow() as uow:
            if self.state:
                await uow.repos.checkpoint(self.job.id, d.owner, self.state,
                                           d.settings.executor_lease_seconds)
            job = await uow.repos.transition(self.job.id, status=status, phase="done",
                                             owner=d.owner, error=error, completed=True)
            if job is None:
                raise LostLease(self.job.id)
            uow.emit(self.end_marker(status, error))
            emit_changed(uow, job, "running")
            await uow.commit()
        log_end(job)

    async def _park(self, seconds: float, why: str) -> None:
        """Free the worker; the job comes back when the provider allows it (same checkpoint)."""
        await self.checkpoints.drain()
        d = self.deps
        resume = domain.utcnow().timestamp() + seconds
        async with d.uow() as uow:
            await uow.repos.checkpoint(self.job.id, d.owner, self.state,
                                       d.settings.executor_lease_seconds)
            job = await uow.repos.transition(
                self.job.id, status="pending_retry", phase="fetching", owner=d.owner,
                error=f"{why}; resuming in {seconds:.0f}s",
                run_after=datetime.fromtimestamp(resume, domain.utcnow().tzinfo),
            )
            if job is None:
                raise LostLease(self.job.id)
            emit_changed(uow, job, "running")
            await uow.commit()

    async def _retry_or_fail(self, error: str, *, retryable: bool) -> None:
        failures = int(self.state.get("failures", 0)) + 1
        self.state["failures"] = failures
        s = self.deps.settings
        if not retryable or failures >= s.executor_max_attempts:
            await self._end("failed", error)
            return
        await self._park(domain.retry_delay(failures, s.executor_retry_base_seconds), error)


class Pages:
    """The page loop of a run. The next page is asked for while this one is being saved, so the
    provider's latency and Postgres's overlap. It is the page the checkpoint will point at: its
    failure is handled exactly as if it had been asked for afterwards."""

    def __init__(self, run: JobRun, definition: Definition, model: Model,
                 creds: Credentials) -> None:
        self.job_run, self.definition, self.model, self.creds = run, definition, model, creds
        self.client = self._client()
        self.name = run.job.data_model.upper()
        # A model without incremental support asks for everything every time.
        self.since = domain.parse_time(run.state.get("window_start")) if model.incremental else None
        self.cutoff = domain.cutoff(run.job.sync_from)

    def _client(self) -> ConnectorClient:
        return client_for(self.definition, self.creds, self.job_run.deps.http)

    async def fetch(self, position: dict[str, Any] | None) -> Page:
        run = self.job_run
        await run.deps.budget.acquire(run.job.connection_id, self.definition.rate_limit)
        return await fetch_page(self.client, self.name, self.model, position, self.since)

    async def run(self) -> None:
        r = self.job_run
        ahead: asyncio.Task[Page] | None = None
        try:
            while True:
                if r.flags.lost:
                    raise LostLease(r.job.id)
                if r.flags.cancel:
                    await r._end("cancelled", "cancelled by request")
                    return
                try:
                    task, ahead = ahead, None
                    page = await (task if task is not None else self.fetch(paging_state(r.state)))
                except ConnectorError as e:
                    if await self._failed(e):
                        continue
                    return
                r.page_failures = 0
                if page.pause:
                    await r.deps.budget.slow_down(r.job.connection_id, page.pause)
                if page.next_state is not None:
                    ahead = asyncio.create_task(self.fetch(page.next_state))
                await r.save_page(page, self.cutoff, self.model)
                if page.next_state is None:
                    return
        finally:
            await r.checkpoints.abandon()
            if ahead is not None and not ahead.done():
                ahead.cancel()
            if ahead is not None:
                with contextlib.suppress(BaseException):
                    await ahead  # its outcome belongs to a run that is over

    async def _failed(self, e: ConnectorError) -> bool:
        """Handle a page's failure; True: ask for the page again, False: the run is over."""
        r, s = self.job_run, self.job_run.deps.settings
        if isinstance(e, RateLimited):
            await r.deps.budget.slow_down(r.job.connection_id, e.retry_after)
            if e.retry_after > s.executor_max_inline_wait_seconds:
                await r._park(e.retry_after, "rate limited by the provider")
                return False
            return True  # the budget waits out Retry-After before the next request
        if isinstance(e, AuthExpired):
            return await self._refresh(e)
        if isinstance(e, ProviderUnavailable):
            r.page_failures += 1
            if r.page_failures <= s.executor_page_retries:
                await asyncio.sleep(s.executor_retry_base_seconds * 2 ** (r.page_failures - 1))
                return True
            await r._retry_or_fail(e.message, retryable=True)
            return False
        if isinstance(e, AccessDenied):
            await r._end("failed", f"access_denied: {e.message}")
            return False
        await r._end("failed", e.message)
        return False

    async def _refresh(self, e: AuthExpired) -> bool:
        """One token refresh per run after a 401; True when the page can be asked for again."""
        r = self.job_run
        if r.refreshed or self.creds.access_token is None:
            await r._end("failed", f"auth_error: {e.message} even after a token refresh")
            return False
        try:
            self.creds = await r.deps.credentials.get(r.job.connection_id,
                                                      rejected=self.creds.access_token)
        except CredentialsError as ce:
            if ce.message.startswith(("auth_error", "provider_")):
                await r._retry_or_fail(ce.message, retryable=ce.retryable)
            else:
                await r._end("failed", f"auth_error: {ce.message}")
            return False
        self.client = self._client()
        r.refreshed = True
        return True
